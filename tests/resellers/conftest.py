"""The resellers' tests read texts in English (customers and admins without a language get the
shop's, Persian by default; the Persian catalog has its own tests)."""

import pytest


@pytest.fixture(autouse=True)
def _english(settings):
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
