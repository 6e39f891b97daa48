"""What the Bot API refuses, as Telegram words it (https://core.telegram.org/bots/api): shared by
the local stand-in (devchat.services.botapi) and the test suite's fake Bot API server, so both
refuse what Telegram refuses."""

from __future__ import annotations

import html
import json
import re

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
TEXT_METHODS = ("sendMessage", "editMessageText")
CAPTION_METHODS = ("sendPhoto", "sendVideo", "sendDocument", "editMessageCaption")
STARS_METHODS = ("sendInvoice", "createInvoiceLink", "answerPreCheckoutQuery", "refundStarPayment",
                 "getStarTransactions")
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji",
             "code", "pre", "blockquote"}


def visible(value, parse_mode) -> str:
    """What Telegram counts: the text after entity parsing (HTML tags do not count)."""
    text = str(value)
    if str(parse_mode or "").upper() == "HTML":
        text = html.unescape(re.sub(r"<[^>]*>", "", text))
    return text.strip()


def html_error(value) -> str:
    """Telegram's complaint about parse_mode=HTML text it cannot parse, or ""."""
    stack: list[str] = []
    for match in re.finditer(r"<(/?)([^\s<>/]*)[^<>]*>|<", str(value)):
        if match.group(0) == "<":
            return "can't parse entities: unexpected \"<\" (escape it as &lt;)"
        closes, name = match.group(1) == "/", match.group(2).lower()
        if name not in HTML_TAGS:
            return f"can't parse entities: unsupported start tag \"{name}\""
        if not closes:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return f"can't parse entities: can't find end tag corresponding to start tag \"{name}\""
    if stack:
        return f"can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\""
    return ""


def invoice_problem(params: dict, prices) -> str:
    """What Telegram refuses in a sendInvoice, for payments in Stars (XTR)."""
    title, description, payload = params.get("title") or "", params.get("description") or "", params.get("payload") or ""
    if not 1 <= len(title) <= 32:
        return "INVOICE_TITLE_INVALID" if title else "title is empty"
    if not 1 <= len(description) <= 255:
        return "INVOICE_DESCRIPTION_INVALID"
    if not 1 <= len(str(payload).encode()) <= 128:
        return "INVOICE_PAYLOAD_INVALID"
    if params.get("currency") == "XTR":
        if params.get("provider_token"):
            return "PAYMENT_PROVIDER_INVALID"
        if not isinstance(prices, list) or len(prices) != 1:
            return "STARS_INVOICE_INVALID"
    if not isinstance(prices, list) or not prices:
        return "CURRENCY_TOTAL_AMOUNT_INVALID"
    for price in prices:
        amount = price.get("amount") if isinstance(price, dict) else None
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1 or not price.get("label"):
            return "CURRENCY_TOTAL_AMOUNT_INVALID"
    return ""


def markup_of(params: dict):
    """reply_markup as a dict (it travels as JSON text in a form), None when absent, or
    ValueError when it is not JSON."""
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return markup


def bad_request(method: str, params: dict) -> str:
    """Telegram's 400 description for parameters it refuses, or "" when they are fine."""
    try:
        markup = markup_of(params)
    except ValueError:
        return "can't parse reply keyboard markup JSON object"
    if isinstance(markup, dict):
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data") if isinstance(button, dict) else None
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
                    return "BUTTON_DATA_INVALID"
    if str(params.get("parse_mode") or "").upper() == "HTML":
        for field in ("text", "caption"):
            if field in params and (error := html_error(params[field])):
                return error
    if method in TEXT_METHODS:
        text = visible(params.get("text") or "", params.get("parse_mode"))
        if not text:
            return "message text is empty"
        if len(text) > MAX_TEXT:
            return "message is too long"
    if method in CAPTION_METHODS and params.get("caption"):
        if len(visible(params["caption"], params.get("parse_mode"))) > MAX_CAPTION:
            return "message caption is too long"
    return ""


def maybe_json(value):
    """A form field's value: JSON objects and lists (reply_markup, prices) decoded."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
