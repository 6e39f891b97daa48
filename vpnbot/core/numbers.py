"""Numbers typed by people: Persian (۰–۹) and Arabic-Indic (٠–٩) digits read as Latin ones."""

from __future__ import annotations

# Persian and Arabic-Indic digits, and the Arabic decimal and thousands separators.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫٬", "01234567890123456789.,")


def latin_digits(text: str) -> str:
    """The text with Persian/Arabic digits and separators made Latin (nothing else changes)."""
    return (text or "").translate(_DIGITS)


def parse_whole_number(text: str, *, max_digits: int = 12) -> int | None:
    """A whole number in Latin, Persian or Arabic digits (surrounding spaces allowed), else
    None. Only ASCII digits count: "²".isdigit() is true, yet int("²") fails."""
    digits = latin_digits(text).strip()
    if digits.isascii() and digits.isdigit() and len(digits) <= max_digits:
        return int(digits)
    return None
