"""The Persian catalogs are complete: every msgid translated, nothing left fuzzy (a fuzzy entry
is not compiled, so it shows in English), and each translation keeps its msgid's placeholders."""

import re
from pathlib import Path

import polib
import pytest

from vpnbot.core.translations import catalog_dirs

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")


def catalogs() -> list[Path]:
    return sorted(po for base in catalog_dirs() for po in base.glob("fa/LC_MESSAGES/django.po"))


def placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PLACEHOLDER.finditer(text)}


def test_every_app_has_a_persian_catalog():
    assert {po.parent.parent.parent.parent.name for po in catalogs()} >= {
        "core", "shop", "transport", "discounts", "crm", "backups", "notifications", "payments"}


@pytest.mark.parametrize("path", catalogs(), ids=lambda p: str(p.parent.parent.parent.parent.name))
def test_the_catalog_is_complete_and_keeps_the_placeholders(path):
    po = polib.pofile(str(path))
    live = [e for e in po if not e.obsolete]
    assert not [e.msgid for e in live if "fuzzy" in e.flags], "fuzzy entries"
    assert not [e.msgid for e in live if not e.translated()], "untranslated entries"
    wrong = []
    for entry in live:
        if "no-python-format" in entry.flags:
            continue
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        expected = placeholders(entry.msgid_plural or entry.msgid)
        wrong += [(entry.msgid, text) for text in translations if placeholders(text) != expected]
    assert not wrong, wrong
