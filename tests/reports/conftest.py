"""The reports' tests read their texts in English."""

import pytest


@pytest.fixture(autouse=True)
def _english(settings):
    """The texts these tests read, in English (customers and admins without a language get the
    shop's; the Persian catalog has its own tests)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
