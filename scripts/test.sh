#!/usr/bin/env bash
# Set up and run every test: unit, integration (SQLite and PostgreSQL), web, browser.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh requirements-dev.txt
scripts/install-chromium.sh
exec .venv/bin/python -m pytest "$@"
