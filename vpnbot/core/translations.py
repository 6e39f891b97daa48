"""Compile the gettext catalogs (`.po` -> `.mo`): a build step, run by `make`, the Dockerfile
and CI through `manage.py compile_catalogs`.

The .po files are the source of truth (kept in git); the .mo files are build output (ignored
by git). polib is pure Python, so no system gettext is needed. A process reads the .mo files
at start and never recompiles them: a running process does not change its catalogs.
"""

from __future__ import annotations

from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings


def catalog_dirs() -> list[Path]:
    """LOCALE_PATHS and the `locale/` folder of every app of this project."""
    base = Path(settings.BASE_DIR).resolve()
    dirs = [Path(p) for p in settings.LOCALE_PATHS]
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(base) and ".venv" not in path.parts:
            dirs.append(path / "locale")
    return [d for d in dirs if d.is_dir()]


def compile_catalogs(*, force: bool = False) -> list[Path]:
    """Write each out-of-date (or, with force, every) .mo; returns the ones written."""
    written = []
    for base in catalog_dirs():
        for po_path in sorted(base.glob("*/LC_MESSAGES/*.po")):
            mo_path = po_path.with_suffix(".mo")
            if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
            written.append(mo_path)
    return written


def missing_catalogs() -> list[Path]:
    """The .po files with no .mo beside them (a checkout that skipped the build step)."""
    return [po for base in catalog_dirs() for po in base.glob("*/LC_MESSAGES/*.po") if not po.with_suffix(".mo").exists()]
