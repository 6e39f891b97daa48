"""The core app's plumbing: autodiscovery, the translation build step, its system check."""

import polib
import pytest
from django.core.management import call_command

from vpnbot.core import checks, translations
from vpnbot.core.autodiscover import autodiscover


def test_autodiscover_finds_each_apps_module_in_installed_order():
    names = [m.__name__ for m in autodiscover("handlers") if hasattr(m, "register")]
    assert names == ["vpnbot.shop.handlers", "discounts.handlers", "crm.handlers", "backups.handlers",
                     "notifications.handlers", "panels.handlers", "payments.handlers", "resellers.handlers",
                     "reports.handlers"]


def test_autodiscover_skips_apps_without_the_module():
    assert [m.__name__ for m in autodiscover("no_such_module")] == []


@pytest.fixture
def tmp_catalog(tmp_path, settings):
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    po.append(polib.POEntry(msgid="Wallet", msgstr="کیف پول"))
    target = tmp_path / "fa" / "LC_MESSAGES"
    target.mkdir(parents=True)
    po.save(str(target / "django.po"))
    settings.LOCALE_PATHS = [tmp_path]
    return target / "django.po"


def test_compile_catalogs_builds_missing_and_stale_catalogs_only(tmp_catalog):
    mo = tmp_catalog.with_suffix(".mo")
    assert translations.missing_catalogs() == [tmp_catalog]
    call_command("compile_catalogs")
    assert mo.exists() and translations.missing_catalogs() == []
    assert polib.mofile(str(mo)).find("Wallet").msgstr == "کیف پول"
    assert mo not in translations.compile_catalogs()  # up to date: not written again
    assert mo in translations.compile_catalogs(force=True)


def test_the_system_check_warns_about_catalogs_not_built(tmp_catalog):
    [warning] = checks.catalogs_compiled()
    assert warning.id == "core.W001" and "compile_catalogs" in warning.hint
    translations.compile_catalogs()
    assert checks.catalogs_compiled() == []


def test_chart_png_draws_what_it_is_given():
    from vpnbot.core.charts import chart_png

    drawn = []
    png = chart_png(lambda axes: drawn.append(axes.bar(["a", "b"], [1, 2])), title="T")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert len(drawn) == 1 and len(drawn[0]) == 2  # the two bars
