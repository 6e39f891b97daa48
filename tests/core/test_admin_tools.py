"""The core's admin helpers: interpolated values keep their own direction in Persian, lists
use the language's separator, and the project templates' texts are in the core catalog."""

import pytest
from django.utils import translation

from tests.admin_i18n import FSI, PDI
from vpnbot.core.admin_tools import interpolate, isolate, text_list


def test_values_are_isolated_in_persian_only():
    with translation.override("fa"):
        assert isolate("Spring sale") == f"{FSI}Spring sale{PDI}"
        assert isolate(-5000) == f"{FSI}-5000{PDI}"  # a sign would move to the wrong side
        assert isolate(12) == 12  # digits alone never reorder the sentence, and %(n)d still works
        assert isolate("") == ""
        assert interpolate("کمپین %(name)s: %(n)d گیرنده", name="Spring sale", n=40) == (
            f"کمپین {FSI}Spring sale{PDI}: 40 گیرنده")
    with translation.override("en"):
        assert interpolate("Campaign %(name)s: %(n)d recipients", name="Spring sale", n=40) == (
            "Campaign Spring sale: 40 recipients")


def test_text_list_uses_the_languages_separator():
    with translation.override("fa"):
        assert text_list(["الف", "ب"]) == "الف، ب"
    with translation.override("en"):
        assert text_list(["a", "b"]) == "a, b"


@pytest.mark.parametrize("msgid, persian", [
    ("Cancel", "انصراف"),  # templates/admin/confirm_action.html
    ("Too many failed logins", "تلاش‌های ناموفق ورود بیش از حد مجاز"),  # templates/admin/locked_out.html
    ("Clean up expired attempts", "پاک‌سازی تلاش‌های منقضی‌شده"),  # django-axes' action, not in its catalog
])
def test_the_core_catalog_translates_the_project_templates_and_third_party_gaps(msgid, persian):
    with translation.override("fa"):
        assert translation.gettext(msgid) == persian
