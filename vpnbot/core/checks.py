"""System checks: a warning when the translation catalogs were not built."""

from django.core import checks

from .translations import missing_catalogs


@checks.register()
def catalogs_compiled(app_configs=None, **kwargs):
    missing = missing_catalogs()
    if not missing:
        return []
    return [checks.Warning(
        f"{len(missing)} translation catalog(s) are not compiled, so Persian texts show in English",
        hint="run `python manage.py compile_catalogs` (make, the Dockerfile and CI do it)", id="core.W001")]
