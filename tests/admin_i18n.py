"""Helpers for the tests of the translated admin: what a page shows, as the browser gets it."""

from django.utils.html import escape

# the Unicode isolates around a text or an amount interpolated into a Persian message
FSI, PDI = "\u2068", "\u2069"


def assert_shows(page, *texts: str) -> None:
    """Each text is on the page (HTML-escaped, as the templates write it)."""
    content = page.content.decode()
    missing = [text for text in texts if escape(text) not in content]
    assert not missing, f"not on the page: {missing}"


def assert_hides(page, *texts: str) -> None:
    content = page.content.decode()
    shown = [text for text in texts if escape(text) in content]
    assert not shown, f"on the page: {shown}"
