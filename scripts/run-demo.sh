#!/usr/bin/env bash
# Set up and start Beacon on SQLite with the demo department at http://127.0.0.1:5000,
# or at the port PORT gives; links in email follow it unless BASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh requirements.txt
export FLASK_APP=app
export BEACON_ENV=${BEACON_ENV:-development}  # the demo data is refused anywhere else
export BEACON_TIMEZONE=${BEACON_TIMEZONE:-America/Chicago}
export PORT=${PORT:-5000}
export BASE_URL=${BASE_URL:-http://127.0.0.1:$PORT}  # the address links in email point to
.venv/bin/flask db upgrade
.venv/bin/flask seed-demo --if-empty
echo
echo "Beacon is starting at http://127.0.0.1:$PORT (Ctrl-C to stop). Links in email point to $BASE_URL."
export SCHEDULER_EMBEDDED=${SCHEDULER_EMBEDDED:-1}  # reminders and delivery run inside the demo server
exec .venv/bin/flask run --host 127.0.0.1 --port "$PORT"
