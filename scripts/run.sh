#!/usr/bin/env bash
# Run the whole product on one machine: web, Celery worker and Celery beat.
# SQLite and the file-system broker by default: nothing to configure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements.txt
mkdir -p var
PORT="${PORT:-8000}"
.venv/bin/python manage.py migrate --noinput >/dev/null
.venv/bin/python manage.py collectstatic --noinput >/dev/null
.venv/bin/python manage.py demo_data --url "http://127.0.0.1:${PORT}"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
.venv/bin/celery -A vpnbot worker -l INFO --concurrency 2 >var/worker.log 2>&1 & pids+=($!)
.venv/bin/celery -A vpnbot beat -l INFO --pidfile= >var/beat.log 2>&1 & pids+=($!)
echo "Worker log: var/worker.log, scheduler log: var/beat.log. Ctrl-C stops everything."
.venv/bin/gunicorn vpnbot.wsgi --config gunicorn.conf.py --bind "127.0.0.1:${PORT}" --workers 2 --access-logfile - & pids+=($!)
wait -n "${pids[@]}"
