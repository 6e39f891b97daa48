"""Read an XLSX back (no openpyxl in the venv): each sheet's rows of values from its XML."""

import io
import re
import zipfile
from xml.etree import ElementTree

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for letter in letters:
        n = n * 26 + ord(letter) - 64
    return n - 1


def _value(cell, shared: list[str]):
    kind = cell.get("t")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t"))
    v = cell.find("m:v", NS)
    if v is None:
        return None
    if kind == "s":
        return shared[int(v.text)]
    if kind == "b":
        return v.text == "1"
    if kind == "str":
        return v.text
    number = float(v.text)
    return int(number) if number.is_integer() else number


def read_xlsx(data: bytes) -> dict[str, list[list]]:
    """{sheet name: rows}, each row a list of values (None where a cell is empty)."""
    book = zipfile.ZipFile(io.BytesIO(data))
    shared = []
    if "xl/sharedStrings.xml" in book.namelist():
        root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root.findall("m:si", NS)]
    rels = {rel.get("Id"): rel.get("Target") for rel in
            ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels")).findall("rel:Relationship", NS)}
    sheets = {}
    for sheet in ElementTree.fromstring(book.read("xl/workbook.xml")).find("m:sheets", NS):
        target = rels[sheet.get(f"{{{NS['r']}}}id")]
        root = ElementTree.fromstring(book.read("xl/" + target.lstrip("/").removeprefix("xl/")))
        rows = []
        for row in root.iter(f"{{{NS['m']}}}row"):
            values: dict[int, object] = {}
            for cell in row.findall("m:c", NS):
                values[_column(cell.get("r"))] = _value(cell, shared)
            rows.append([values.get(i) for i in range(max(values) + 1)] if values else [])
        sheets[sheet.get("name")] = rows
    return sheets
