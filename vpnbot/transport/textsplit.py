"""Texts longer than Telegram takes in one message, cut into parts it takes: plain text at line
breaks when possible, HTML without cutting a tag or an entity (the sender's split)."""

from __future__ import annotations

import html
import re

MAX_TEXT = 4096


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a text into parts of at most `limit` characters, at line breaks when possible."""
    if len(text) <= limit:
        return [text]
    parts, rest = [], text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n") if rest[cut:cut + 1] == "\n" else rest[cut:]
    if rest:
        parts.append(rest)
    return parts


_HTML_TOKEN = re.compile(r"<[^<>]*>|[^<]+|<")
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)")


def split_html(text: str, limit: int = MAX_TEXT) -> list[str]:
    """split_text for parse_mode=HTML: a cut never falls inside a tag or an entity (&amp;),
    and the tags open at a cut are closed at the end of the part and opened again at the
    start of the next, so Telegram can parse every part."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag) of the tags open here
    buf, has_text = "", False

    def closing(extra: int = 0) -> int:
        return sum(len(name) + 3 for name, _tag in stack) + extra

    def flush() -> None:
        nonlocal buf, has_text
        if has_text:
            parts.append(buf + "".join(f"</{name}>" for name, _tag in reversed(stack)))
        buf, has_text = "".join(tag for _name, tag in stack), False

    for token in _HTML_TOKEN.findall(text):
        tag = _HTML_TAG.match(token) if len(token) > 1 and token.endswith(">") else None
        if tag:
            closes, name = tag.group(1) == "/", tag.group(2).lower()
            # what the part's closing tags grow (an opening tag) or shrink (a closing one) by
            grows = (-(len(name) + 3) if any(n == name for n, _tag in stack) else 0) if closes else \
                (0 if token.endswith("/>") else len(name) + 3)
            if len(buf) + len(token) + closing(grows) > limit:
                flush()
            buf += token
            if closes:
                for i in range(len(stack) - 1, -1, -1):
                    if stack[i][0] == name:
                        del stack[i]
                        break
            elif grows > 0:
                stack.append((name, token))
            continue
        while token:
            room = limit - len(buf) - closing()
            if len(token) <= room:
                buf, has_text = buf + token, True
                break
            if room < 16:  # no room left in this part for a sensible piece
                if has_text:
                    flush()
                    continue
                return _split_as_plain_text(text, limit)  # the open tags alone fill a part
            cut = token.rfind("\n", 0, room + 1)
            if cut <= 0:
                cut = token.rfind(" ", 0, room + 1)
            if cut <= 0:
                cut = room
            amp = token.rfind("&", 0, cut)
            if amp >= 0 and ";" not in token[amp:cut]:  # an entity would be cut in two
                cut = amp
            if cut <= 0 and has_text:
                flush()
                continue
            if cut <= 0:  # nothing better in this part: cut at the limit
                cut = room
            buf, has_text = buf + token[:cut], True
            flush()
            token = token[cut:].lstrip("\n") if token[cut:cut + 1] == "\n" else token[cut:]
    flush()
    return parts


def _split_as_plain_text(text: str, limit: int) -> list[str]:
    """The last resort of split_html: the visible text, escaped, without the markup."""
    visible = html.unescape(re.sub(r"<[^<>]*>", "", text))
    return [html.escape(part, quote=False) for part in split_text(visible, max(1, limit // 5))]
