"""Find one conventional module (`handlers`, `schedules`, `urls`) in every installed app."""

from __future__ import annotations

import sys
from types import ModuleType

from django.apps import apps
from django.utils.module_loading import autodiscover_modules


def autodiscover(module_name: str) -> list[ModuleType]:
    """Import `<app>.<module_name>` for every installed app that has one (Django's
    autodiscover_modules: a missing module is skipped, an error inside one is raised) and
    return them in INSTALLED_APPS order."""
    autodiscover_modules(module_name)
    found = []
    for config in apps.get_app_configs():
        module = sys.modules.get(f"{config.name}.{module_name}")
        if module is not None:
            found.append(module)
    return found
