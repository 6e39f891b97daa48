#!/usr/bin/env bash
# Webhook benchmark on PostgreSQL + Redis (both must be running on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/bootstrap.sh requirements-dev.txt
.venv/bin/pip install -q "python-telegram-bot[webhooks]==22.8"
command -v wrk >/dev/null || { apt-get install -y -q wrk >/dev/null 2>&1 || sudo apt-get install -y -q wrk; }
exec .venv/bin/python bench/webhook/run.py "$@"
