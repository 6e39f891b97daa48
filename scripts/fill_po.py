"""Fill msgstr entries of a .po file from a Python dict of translations (a helper for
translators): python scripts/fill_po.py path/to/django.po translations.py"""

import runpy
import sys

import polib


def main(po_path: str, table_path: str) -> None:
    table = runpy.run_path(table_path)["T"]
    po = polib.pofile(po_path)
    missing = []
    for entry in po:
        if entry.msgid in table:
            entry.msgstr = table[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        elif not entry.msgstr:
            missing.append(entry.msgid)
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save()
    for msgid in missing:
        print("untranslated:", repr(msgid))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
