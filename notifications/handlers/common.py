"""What the notifications' handlers share: link buttons written as trailing lines of a message.
The bottom of the handlers package: it imports none of its modules."""

from __future__ import annotations

import re

_BUTTON_LINE = re.compile(r"^\[(?P<label>[^\]]{1,64})\]\((?P<url>https?://\S+)\)$")


def split_buttons(text: str) -> tuple[str, list]:
    """The text without its trailing "[Label](https://…)" lines, and those lines as button rows."""
    lines = (text or "").rstrip().split("\n")
    buttons = []
    while lines and _BUTTON_LINE.match(lines[-1].strip()):
        match = _BUTTON_LINE.match(lines.pop().strip())
        buttons.insert(0, [[match["label"], "url:" + match["url"]]])
    return "\n".join(lines).strip(), buttons
