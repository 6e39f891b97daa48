#!/usr/bin/env bash
# Create .venv and install the Python packages (and, where possible, the system libraries
# mysqlclient needs). Usage: scripts/bootstrap.sh [requirements file]
set -euo pipefail
cd "$(dirname "$0")/.."
REQ="${1:-requirements.txt}"
PY="${PYTHON:-python3}"
# System packages the C extensions need (mysqlclient, gunicorn_h1c): a compiler, the Python
# headers, pkg-config and the MariaDB client headers.
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
"$PY" -c "import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" \
  || need+=(python3-dev)
if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then
  need+=(pkg-config libmariadb-dev)
fi
# The test suite's browser tests (the Mini App) drive Debian's chromium through chromium-driver.
if [ "$REQ" = requirements-dev.txt ] && ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
  need+=(chromium chromium-driver)
fi
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "Installing ${need[*]} (to build mysqlclient and gunicorn_h1c; chromium for the browser tests)…"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || {
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >/dev/null; }
  else
    echo "Please install ${need[*]} first (a C compiler, the Python headers, pkg-config, the MariaDB client headers; chromium and its driver for the tests)." >&2
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
# Build step: the translation catalogs (.po -> .mo), only those out of date.
.venv/bin/python manage.py compile_catalogs >/dev/null
