"""Telegram's side of the local chat: the people of the page (new ones, the shop's customers,
its admins), what they send (a text, a command, a photo, a button press) kept in their chat and
turned into the update Telegram would deliver to the webhook, and a chat as the page shows it.

The page POSTs each update to the real webhook: the inbox, the worker and the handlers process
it as they would Telegram's."""

from __future__ import annotations

import hashlib
import time
from io import BytesIO

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.transport.permissions import admin_chat_ids

from .. import selectors
from .botapi import MAX_PHOTO_BYTES, image_size, telegram_message
from .store import Store, get_store

# The ids of the page's new people: far from the shop's demo customers and from real ones.
FIRST_USER_ID = 880_000_000
MAX_TEXT = 4096


class ChatError(ValueError):
    """What the page asked cannot be done; the message says why."""


def _language(code: str) -> str:
    codes = [lang for lang, _name in settings.LANGUAGES]
    code = (code or "").strip().lower()
    if code not in codes:
        raise ChatError(_("Choose one of the languages: %(codes)s.") % {"codes": ", ".join(codes)})
    return code


def person_create(*, first_name: str, language: str, store: Store | None = None) -> dict:
    """A new Telegram user for the page (not a customer yet: the shop makes one at the first update)."""
    store = store or get_store()
    first_name = " ".join((first_name or "").split())[:64]
    if not first_name:
        raise ChatError(_("Give the new customer a name."))
    language = _language(language)
    with store.locked() as state:
        user_id = max([FIRST_USER_ID, *(int(k) for k in state["users"])]) + 1
        while selectors.customer_exists(user_id):
            user_id += 1
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language,
                "username": f"{''.join(ch for ch in first_name.lower() if ch.isascii() and ch.isalnum())[:20] or 'user'}{user_id % 10000}"}
        state["users"][str(user_id)] = user
    return user


def person(telegram_id: int, *, store: Store | None = None) -> dict:
    """The Telegram user behind an id: one of the page's, else the shop's customer or admin of
    that id (remembered from then on). ChatError for an id nobody has."""
    store = store or get_store()
    with store.locked() as state:
        user = state["users"].get(str(telegram_id))
        if user is None:
            user = selectors.person_for(int(telegram_id))
            if user is None:
                raise ChatError(_("There is no customer or admin with Telegram id %(id)s.") % {"id": telegram_id})
            state["users"][str(telegram_id)] = user
    return user


def people(*, search: str = "", store: Store | None = None) -> dict:
    """Whom the page can be: its recent chats, the shop's admins, and customers (matching `search`)."""
    store = store or get_store()
    with store.locked() as state:
        known = dict(state["users"])
    recent = [known.get(str(chat_id)) or selectors.person_for(chat_id) for chat_id in store.chat_ids()[:30]]
    admins = [known.get(str(chat_id)) or selectors.person_for(chat_id) or {"id": chat_id, "first_name": f"Admin {chat_id}"}
              for chat_id in admin_chat_ids()]
    return {"recent": [p for p in recent if p], "admins": admins,
            "customers": selectors.customers_matching(search, limit=30)}


def _next_update_id(state: dict) -> int:
    return Store.next_number(state, "update_id")


def _message_base(user: dict, message_id: int) -> dict:
    return {"message_id": message_id, "date": int(time.time()), "from": user,
            "chat": {"id": user["id"], "type": "private", "first_name": user.get("first_name", ""),
                     **({"username": user["username"]} if user.get("username") else {})}}


def send_text(*, telegram_id: int, text: str, store: Store | None = None) -> dict:
    """A text (or a command) the person types; returns the update for the webhook."""
    store = store or get_store()
    user = person(telegram_id, store=store)
    text = (text or "").strip()
    if not text:
        raise ChatError(_("Type a message first."))
    if len(text) > MAX_TEXT:
        raise ChatError(_("A message is at most %(n)s characters.") % {"n": MAX_TEXT})
    with store.locked() as state:
        message_id = store.next_message_id(state, user["id"])
        store.append(state, user["id"], {"type": "message", "message": {
            "message_id": message_id, "from": "user", "date": int(time.time()), "text": text}})
        update_id = _next_update_id(state)
    message = {**_message_base(user, message_id), "text": text}
    if text.startswith("/"):
        message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    return {"update_id": update_id, "message": message}


def send_photo(*, telegram_id: int, content: bytes, name: str = "photo.jpg", caption: str = "",
               store: Store | None = None) -> dict:
    """A photo the person sends (a receipt); returns the update. Telegram gives the same
    file_unique_id to the same picture every time it is sent, and a new file_id."""
    store = store or get_store()
    user = person(telegram_id, store=store)
    if not content:
        raise ChatError(_("Choose a picture to send."))
    if len(content) > MAX_PHOTO_BYTES:
        raise ChatError(_("A photo is at most 10 MB."))
    width, height = image_size(content)
    if not width:
        raise ChatError(_("This file is not a picture (JPEG, PNG, WebP…)."))
    caption = (caption or "").strip()[:1024]
    unique = "AQAD" + hashlib.sha256(content).hexdigest()[:24]
    with store.locked() as state:
        record = store.put_file(state, _as_jpeg(content), kind="photos", name=name or "photo.jpg", mime="image/jpeg",
                                unique_id=unique, width=width, height=height)
        message_id = store.next_message_id(state, user["id"])
        stored = {"message_id": message_id, "from": "user", "date": int(time.time()), "photo": record}
        if caption:
            stored["caption"] = caption
        store.append(state, user["id"], {"type": "message", "message": stored})
        update_id = _next_update_id(state)
    message = {**_message_base(user, message_id), "photo": telegram_message(user["id"], stored)["photo"]}
    if caption:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def _as_jpeg(content: bytes) -> bytes:
    """Telegram keeps a photo as JPEG whatever was sent."""
    from PIL import Image

    with Image.open(BytesIO(content)) as image:
        if image.format == "JPEG":
            return content
        out = BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=90)
        return out.getvalue()


def press(*, telegram_id: int, message_id: int, data: str, store: Store | None = None) -> dict:
    """A press on an inline button of a bot's message; returns the callback_query update. Only a
    button the message still has can be pressed (as in Telegram)."""
    store = store or get_store()
    user = person(telegram_id, store=store)
    message = store.messages(user["id"]).get(int(message_id))
    buttons = [b for row in ((message or {}).get("reply_markup") or {}).get("inline_keyboard") or [] for b in row]
    if message is None or message.get("deleted") or not any(b.get("callback_data") == data for b in buttons):
        raise ChatError(_("This message has no such button (any more)."))
    with store.locked() as state:
        query_id = f"{user['id']}:{Store.next_number(state, 'callbacks')}"
        update_id = _next_update_id(state)
    return {"update_id": update_id, "callback_query": {
        "id": query_id, "from": user, "chat_instance": f"local-{user['id']}", "data": data,
        "message": telegram_message(user["id"], message)}}


def chat_view(*, telegram_id: int, after: int = 0, store: Store | None = None) -> dict:
    """A chat as the page shows it: the person, the messages, the answers and refusals after
    `after`, the keyboard the bot left under the message field."""
    store = store or get_store()
    user = person(telegram_id, store=store)
    state = store.chat(user["id"], after=after)
    keyboard: list = []
    for message in state.messages:
        markup = message.get("reply_markup") or {}
        if message.get("from") == "bot" and ("keyboard" in markup or markup.get("remove_keyboard")):
            keyboard = [[b.get("text", "") for b in row] for row in markup.get("keyboard") or []]
    return {"person": user, "admin": int(user["id"]) in admin_chat_ids(), "messages": state.messages,
            "notes": state.notes, "seq": state.seq, "keyboard": keyboard}
