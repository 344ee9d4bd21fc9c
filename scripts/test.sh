#!/usr/bin/env bash
# Set up, lint (ruff) and run every test: unit, integration (SQLite and PostgreSQL), web, browser.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh requirements-dev.txt
scripts/install-chromium.sh
.venv/bin/ruff check .   # lint first: a finding fails the run (ruff.toml)
exec .venv/bin/python -m pytest "$@"
