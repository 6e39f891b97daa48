#!/usr/bin/env bash
# Update every app's Persian catalog from its source:  scripts/makemessages.sh
# (or only some apps' catalogs:  scripts/makemessages.sh payments panels)
# Each app keeps its own catalog (<app>/locale/fa/LC_MESSAGES/django.po); makemessages reads
# only the folder it runs in, so the project's templates (templates/, the admin's confirmation
# and lockout pages) are linked into vpnbot/core for the run and land in the core's catalog.
# Then: fill the new msgids, resolve the fuzzy ones, and `manage.py compile_catalogs`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-$root/.venv/bin/python}
django_admin=$(dirname "$python")/django-admin  # not `python -m django`: vpnbot/core/numbers.py would shadow the stdlib's
apps=(vpnbot/core vpnbot/shop vpnbot/transport discounts crm backups notifications panels payments resellers antifraud reports miniapp devchat)
if [ $# -gt 0 ]; then apps=("$@"); fi

link=vpnbot/core/templates
if [ -e "$link" ]; then echo "$link exists: the project templates cannot be linked there" >&2; exit 1; fi
ln -s ../../templates "$link"
trap 'rm -f "$root/$link"' EXIT

for app in "${apps[@]}"; do
  echo "== $app"
  extra=()
  [ "$app" = vpnbot/core ] && extra=(--symlinks)
  (cd "$app" && DJANGO_SETTINGS_MODULE= "$django_admin" makemessages -l fa "${extra[@]}")
done
