#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser build).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  apt_get="apt-get"
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  apt_get="sudo apt-get"
else
  echo "Chromium is not installed and this user cannot run apt-get: the browser tests will be skipped." >&2
  echo "Install it with: sudo apt-get install chromium" >&2
  exit 0
fi
echo "Installing Debian's chromium for the browser tests..."
$apt_get update -qq
DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq chromium >/dev/null
