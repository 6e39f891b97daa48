"""Compile gettext catalogs on start, so translations work with no manual step.

The .po files are the source of truth (kept in git); the .mo files are build output
(ignored by git). polib is pure Python, so no system gettext is needed at run time.
"""

import logging
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)


def compile_catalogs() -> None:
    from django.apps import apps

    bases = [Path(p) for p in settings.LOCALE_PATHS]
    bases += [Path(config.path) / "locale" for config in apps.get_app_configs()
              if config.name.startswith(("vpnbot", "discounts", "crm", "backups", "notifications"))]
    compiled = False
    for base in bases:
        for po_path in base.glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            try:
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                import polib  # only when a catalog is out of date: every start-up pays for it otherwise

                polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
                compiled = True
            except OSError as exc:  # read-only tree: the image build compiled them already
                log.warning("could not compile %s: %s", po_path, exc)
    if compiled:
        _forget_loaded_catalogs()


def _forget_loaded_catalogs() -> None:
    """A catalog read before it was compiled would stay stale in this process."""
    import gettext

    from asgiref.local import Local
    from django.utils.translation import trans_real

    gettext._translations = {}
    trans_real._translations = {}
    trans_real._default = None
    trans_real._active = Local()
