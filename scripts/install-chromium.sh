#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser build); the
# calendar test opens Beacon's .ics in Debian's khal, a real calendar client.
set -euo pipefail
if [ -x /usr/bin/chromium ] && command -v khal >/dev/null; then
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
echo "Installing Debian's chromium (browser tests) and khal (calendar test)..."
$apt_get update -qq
DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq chromium khal >/dev/null
