"""Fill msgstr entries of a .po file from a Python dict of translations (a helper for
translators): python scripts/fill_po.py path/to/django.po translations.py

translations.py defines T = {msgid: msgstr}; for a plural entry the msgstr is one string (used
for every plural form, as in Persian) or a list with one string per form."""

import runpy
import sys
from pathlib import Path

import polib


def main(po_path: str, table_path: str) -> None:
    table = runpy.run_path(table_path)["T"]
    po = polib.pofile(po_path)
    missing = []
    for entry in po:
        if entry.msgid in table:
            value = table[entry.msgid]
            if entry.msgid_plural:
                forms = value if isinstance(value, list) else [value] * max(len(entry.msgstr_plural), 2)
                entry.msgstr_plural = dict(enumerate(forms))
            else:
                entry.msgstr = value
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            # the "#| msgid" lines only say what a fuzzy entry was matched from
            entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
        elif not (entry.translated() or entry.obsolete):
            missing.append(entry.msgid)
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    # a catalog makemessages just made has a fuzzy header with no language
    po.metadata_is_fuzzy = False
    if not po.metadata.get("Language"):
        po.metadata["Language"] = Path(po_path).resolve().parent.parent.name
    po.save()
    for msgid in missing:
        print("untranslated:", repr(msgid))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
