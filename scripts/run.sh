#!/usr/bin/env bash
# Run the whole product on one machine: web, Celery worker and Celery beat.
# SQLite and the file-system broker by default: nothing to configure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements.txt
mkdir -p var
export PORT="${PORT:-8000}"
# Without TELEGRAM_BOT_TOKEN the bot talks to the local stand-in for Telegram, and the chat page
# (printed below) plays Telegram's side; with a token it talks to Telegram (LOCAL_CHAT, settings.py).
export MAKE_RUN=1
.venv/bin/python manage.py migrate --noinput >/dev/null
.venv/bin/python manage.py collectstatic --noinput >/dev/null
# demo data on an empty database (six months of a shop); the admin's and the chat page's addresses
.venv/bin/python manage.py demo_data --if-empty --url "http://127.0.0.1:${PORT}"
pids=()
# Each service runs in its own process group (setsid): Ctrl-C reaches only this script, which
# then stops every service: SIGTERM to its main process (a warm shutdown: running tasks
# finish, the pool is stopped by its parent), and SIGKILL to the whole group for
# whatever is still there after STOP_GRACE seconds, so nothing is left behind.
start() { setsid "$@" & pids+=($!); }
cleanup() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -eq 0 ] && return
  echo "Stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done  # the leader stops its own children
  for _ in $(seq 1 $(( ${STOP_GRACE:-10} * 5 ))); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start .venv/bin/celery -A vpnbot worker -l INFO --concurrency 2 >var/worker.log 2>&1
start .venv/bin/celery -A vpnbot beat -l INFO --pidfile= >var/beat.log 2>&1
echo "Worker log: var/worker.log, scheduler log: var/beat.log. Ctrl-C stops everything."
start .venv/bin/gunicorn vpnbot.wsgi --config gunicorn.conf.py --bind "127.0.0.1:${PORT}" --workers 2 --access-logfile -
wait -n "${pids[@]}"
