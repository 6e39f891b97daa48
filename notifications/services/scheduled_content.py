"""A scheduled message's content checked as Telegram would take it: HTML that parses with
Telegram's tags, the length of what shows (text 4096, caption 1024), link buttons (https:// or
tg:// URLs, at most 10 rows of 8), and the media type with its file."""

from __future__ import annotations

import html
import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from .errors import NotificationError

MAX_TEXT, MAX_CAPTION = 4096, 1024
MAX_BUTTON_ROWS, MAX_BUTTONS_IN_ROW = 10, 8
HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji",
                       "code", "pre", "blockquote"})
_TAG = re.compile(r"<(/?)([^\s<>/]*)[^<>]*>|<")


# --- content --------------------------------------------------------------------------------------------

def html_problem(text: str) -> str:
    """What Telegram would refuse in this HTML ("" when it is fine): a tag it does not know, a
    tag not closed or closed out of order, or a bare "<"."""
    stack: list[str] = []
    for match in _TAG.finditer(text or ""):
        if match.group(0) == "<":
            return _('a bare "<" (write it as &lt;)')
        closes, name = match.group(1) == "/", match.group(2).lower()
        if name not in HTML_TAGS:
            return _("the tag <%(tag)s> is not one Telegram knows") % {"tag": name}
        if not closes:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return _("the tag </%(tag)s> closes nothing open") % {"tag": name}
    if stack:
        return _("the tag <%(tag)s> is not closed") % {"tag": stack[-1]}
    return ""


def visible_length(text: str) -> int:
    """The length Telegram counts: the text without its tags, entities read."""
    return len(html.unescape(re.sub(r"<[^>]*>", "", text or "")).strip())


def _clean_buttons(buttons) -> list:
    """Rows of [label, url]: the url as "url:https://…" (https://, http:// or tg://)."""
    if buttons in (None, ""):
        return []
    check = URLValidator(schemes=["http", "https", "tg"])
    rows = []
    try:
        if len(buttons) > MAX_BUTTON_ROWS:
            raise ValueError
        for row in buttons:
            if not row or len(row) > MAX_BUTTONS_IN_ROW:
                raise ValueError
            cleaned = []
            for label, action in row:
                label, url = str(label).strip(), str(action).strip()
                url = url[4:] if url.startswith("url:") else url
                if not 1 <= len(label) <= 64:
                    raise ValueError
                check(url)
                cleaned.append([label, "url:" + url])
            rows.append(cleaned)
    except (ValueError, TypeError, ValidationError):
        raise NotificationError(_("Buttons are rows of [label, link]: a label of 1–64 characters and an https:// "
                                  "link; at most %(rows)s rows.") % {"rows": MAX_BUTTON_ROWS}) from None
    return rows


def scheduled_clean_content(*, text: str = "", media_type: str = "", media: str = "", buttons=None) -> dict:
    """The content checked as Telegram will take it: text (HTML) and/or a photo, video or
    document (file_id or URL) with the text as its caption, and link buttons."""
    text = (text or "").strip()
    media = (media or "").strip()
    media_type = (media_type or "").strip() if media else ""
    if media and not media_type:
        media_type = "photo"
    if media_type not in ("", "photo", "video", "document"):
        raise NotificationError(_("The media type is photo, video or document."))
    if media and (len(media) > 255 or re.search(r"\s", media)):
        raise NotificationError(_("The file is a Telegram file_id or an https:// link."))
    if not text and not media:
        raise NotificationError(_("A scheduled message needs a text, or a photo, video or document."))
    problem = html_problem(text)
    if problem:
        raise NotificationError(_("The text is not HTML that Telegram reads: %(problem)s.") % {"problem": problem})
    limit = MAX_CAPTION if media else MAX_TEXT
    if visible_length(text) > limit:
        raise NotificationError(_("The text is too long: %(max)s characters at most.") % {"max": limit})
    return {"text": text, "media_type": media_type, "media": media, "buttons": _clean_buttons(buttons)}
