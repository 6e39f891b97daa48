"""Keeps the bot token out of texts and logs: `redact(text)` and a logging filter that
applies it to every record."""

import logging
import re

from django.conf import settings

_TOKEN_RE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")


def redact(text: str) -> str:
    """Remove the bot token (configured or token-shaped) from a text."""
    token = getattr(settings, "TELEGRAM_BOT_TOKEN", "")
    if token:
        text = text.replace(token, "<token>")
    return _TOKEN_RE.sub("<token>", text)


class RedactTokenFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken log call must not break the app
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
