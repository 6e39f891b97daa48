#!/usr/bin/env bash
# Create .venv and install the Python packages (and, where possible, the system libraries
# mysqlclient needs). Usage: scripts/bootstrap.sh [requirements file]
set -euo pipefail
cd "$(dirname "$0")/.."
REQ="${1:-requirements.txt}"
PY="${PYTHON:-python3}"
if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "Installing pkg-config and libmariadb-dev (needed to build mysqlclient)…"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q pkg-config libmariadb-dev >/dev/null 2>&1 || {
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q pkg-config libmariadb-dev >/dev/null; }
  else
    echo "Please install pkg-config and the MariaDB client headers (libmariadb-dev) first." >&2
  fi
fi
mkdir -p var
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.installed-$(sha1sum "$REQ" requirements.txt | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$REQ"
  touch "$stamp"
fi
