"""The local stand-in for the Bot API: the methods the shop calls, answered as Telegram answers
them (the same results, the same 400s), with every message kept in the store for the chat page.

`botapi_call(method, params, files)` -> (HTTP status, Telegram's JSON answer). `params` are the
method's parameters as they arrived (JSON, or form fields whose objects are JSON text); `files`
maps a field name to (file name, bytes, content type) for the uploads of a multipart call."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.conf import settings

from .rules import bad_request, invoice_problem, markup_of, maybe_json
from .store import Store, get_store

# Methods that change nothing the page shows: answered `true`.
ACCEPTED = ("deleteWebhook", "setMyCommands", "deleteMyCommands", "setChatMenuButton", "sendChatAction",
            "setMyDescription", "setMyShortDescription", "setMyName", "answerPreCheckoutQuery")
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly the same as "
                "a current content and reply markup of the message")
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def bot_user() -> dict:
    """The bot itself (getMe): its id is the token's first part, as Telegram's are."""
    head = str(settings.TELEGRAM_BOT_TOKEN).split(":", 1)[0]
    return {"id": int(head) if head.isdigit() else 1000001, "is_bot": True, "first_name": "VPN Shop (local)",
            "username": settings.TELEGRAM_BOT_USERNAME or "local_vpn_shop_bot", "can_join_groups": False,
            "can_read_all_group_messages": False, "supports_inline_queries": False}


def _ok(result: Any) -> tuple[int, dict]:
    return 200, {"ok": True, "result": result}


def _refuse(description: str, status: int = 400) -> tuple[int, dict]:
    prefix = {400: "Bad Request", 404: "Not Found", 409: "Conflict"}.get(status, "Error")
    return status, {"ok": False, "error_code": status, "description": f"{prefix}: {description}"}


def _chat_id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def botapi_call(method: str, params: dict, files: dict | None = None, *, store: Store | None = None) -> tuple[int, dict]:
    """Answer one Bot API call; a refused call that names a chat is noted in that chat's log,
    so the page shows what Telegram would have refused."""
    store = store or get_store()
    params = {key: maybe_json(value) for key, value in (params or {}).items()}
    files = files or {}
    status, payload = _answer(store, method, params, files)
    chat_id = _chat_id(params.get("chat_id"))
    if not payload.get("ok") and chat_id is not None:
        with store.locked() as state:
            store.append(state, chat_id, {"type": "error", "method": method, "description": payload["description"]})
    return status, payload


def _answer(store: Store, method: str, params: dict, files: dict) -> tuple[int, dict]:
    if method == "getMe":
        return _ok(bot_user())
    if method in ACCEPTED:
        return _ok(True)
    if method == "setWebhook":
        return _refuse("this is the local chat's stand-in for Telegram: updates come from the chat page, "
                       "there is no webhook to set")
    if method == "getUpdates":
        return _refuse("the local chat delivers updates to the webhook (/telegram/webhook/), not by getUpdates", 409)
    if method == "getFile":
        record = store.file(str(params.get("file_id") or ""))
        if record is None:
            return _refuse("invalid file_id")
        return _ok({key: record[key] for key in ("file_id", "file_unique_id", "file_size", "file_path")})
    if method == "answerCallbackQuery":
        return _answer_callback(store, params)
    if method == "createInvoiceLink":
        return _ok(f"https://t.me/$local{hashlib.sha256(str(params.get('payload')).encode()).hexdigest()[:12]}")
    if method == "getStarTransactions":
        return _ok({"transactions": []})
    if method == "refundStarPayment":
        return _refuse("CHARGE_NOT_FOUND")
    refusal = bad_request(method, params)
    if refusal:
        return _refuse(refusal)
    chat_id = _chat_id(params.get("chat_id"))
    if method in ("sendMessage", "sendPhoto", "sendVideo", "sendDocument", "sendInvoice", "copyMessage", "forwardMessage"):
        if chat_id is None:
            return _refuse("chat not found")
        return _send(store, method, chat_id, params, files)
    if method in ("editMessageText", "editMessageCaption", "editMessageReplyMarkup"):
        if chat_id is None:
            return _refuse("chat not found")
        return _edit(store, method, chat_id, params)
    if method == "deleteMessage":
        return _delete(store, chat_id, params)
    if method in ("pinChatMessage", "unpinChatMessage"):
        return _pin(store, chat_id, params, pin=method == "pinChatMessage")
    return _refuse("method not found", 404)


def _pin(store: Store, chat_id: int | None, params: dict, *, pin: bool) -> tuple[int, dict]:
    """pinChatMessage / unpinChatMessage as Telegram answers them: only a message of that chat
    can be pinned; unpinning one that is not pinned is "message to unpin not found"; without
    message_id, unpinning takes the most recent pin. Kept as an edit of the message (the page
    marks it)."""
    message_id = _chat_id(params.get("message_id"))
    with store.locked() as state:
        messages = store.messages(chat_id or 0)
        if message_id is None and not pin:
            pinned = [m for m in messages.values() if m.get("pinned") and not m.get("deleted")]
            message_id = pinned[-1]["message_id"] if pinned else None
        if message_id is None:
            return _refuse("message to unpin not found" if not pin else "message identifier is not specified")
        message = messages.get(message_id)
        if message is None or message.get("deleted"):
            return _refuse("message to pin not found" if pin else "message to unpin not found")
        if not pin and not message.get("pinned"):
            return _refuse("message to unpin not found")
        store.append(state, chat_id, {"type": "edit", "message_id": message_id, "changes": {"pinned": pin}})
    return _ok(True)


def _answer_callback(store: Store, params: dict) -> tuple[int, dict]:
    query_id = str(params.get("callback_query_id") or "")
    chat_id = _chat_id(query_id.split(":", 1)[0]) if ":" in query_id else None
    if chat_id is None:
        return _refuse("query is too old and response timeout expired or query ID is invalid")
    show_alert = params.get("show_alert")
    with store.locked() as state:
        store.append(state, chat_id, {"type": "answer", "callback_query_id": query_id, "text": str(params.get("text") or ""),
                                      "show_alert": show_alert is True or str(show_alert).lower() == "true"})
    return _ok(True)


def _markup(params: dict) -> dict | None:
    markup = markup_of(params)
    return markup if isinstance(markup, dict) else None


def _upload(store: Store, state: dict, files: dict, field: str, value, *, kind: str, limit: int) -> dict | str:
    """A photo or document of a send: a new upload, a file_id sent before, or an HTTP URL.
    Returns the file's record, or the refusal's description."""
    if field in files:
        name, content, mime = files[field]
        if len(content) > limit:
            return "file is too big"
        width = height = 0
        if kind == "photos":
            width, height = image_size(content)
            if not width:
                return "IMAGE_PROCESS_FAILED"
        unique = "AgAD" + hashlib.sha256(content).hexdigest()[:24]  # the same file, the same unique id
        return store.put_file(state, content, kind=kind, name=name or "", mime=mime or "", unique_id=unique,
                              width=width, height=height)
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return {"url": value}
    record = store.file(str(value or ""))
    if record is None:
        return "wrong file identifier/HTTP URL specified"
    return record


def image_size(content: bytes) -> tuple[int, int]:
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(BytesIO(content)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return 0, 0


def _send(store: Store, method: str, chat_id: int, params: dict, files: dict) -> tuple[int, dict]:
    with store.locked() as state:
        message: dict = {"from": "bot", "date": int(time.time())}
        if method in ("copyMessage", "forwardMessage"):
            source = store.messages(_chat_id(params.get("from_chat_id")) or 0).get(_chat_id(params.get("message_id")) or 0)
            if source is None or source.get("deleted"):
                return _refuse("message to copy not found" if method == "copyMessage" else "message to forward not found")
            message.update({k: v for k, v in source.items() if k in ("text", "caption", "parse_mode", "photo", "document")})
        elif method == "sendMessage":
            message.update(text=str(params["text"]), parse_mode=params.get("parse_mode") or "")
        elif method == "sendInvoice":
            prices = params.get("prices")
            problem = invoice_problem(params, prices)
            if problem:
                return _refuse(problem)
            message["invoice"] = {"title": params.get("title"), "description": params.get("description"),
                                  "currency": params.get("currency"),
                                  "total_amount": sum(int(p.get("amount") or 0) for p in prices if isinstance(p, dict))}
        else:
            field, kind, limit = (("photo", "photos", MAX_PHOTO_BYTES) if method == "sendPhoto"
                                  else ("video", "documents", MAX_DOCUMENT_BYTES) if method == "sendVideo"
                                  else ("document", "documents", MAX_DOCUMENT_BYTES))
            record = _upload(store, state, files, field, params.get(field), kind=kind, limit=limit)
            if isinstance(record, str):
                return _refuse(record)
            if field == "video":  # shown on the page as a file to open; answered as a video
                record = {**record, "video": True}
                field = "document"
            message[field] = record
            message.update(caption=str(params.get("caption") or ""), parse_mode=params.get("parse_mode") or "")
        markup = _markup(params)
        if markup:
            message["reply_markup"] = markup
        message["message_id"] = store.next_message_id(state, chat_id)
        store.append(state, chat_id, {"type": "message", "message": message})
    if method == "copyMessage":
        return _ok({"message_id": message["message_id"]})
    return _ok(telegram_message(chat_id, message))


def _edit(store: Store, method: str, chat_id: int, params: dict) -> tuple[int, dict]:
    message_id = _chat_id(params.get("message_id"))
    with store.locked() as state:
        message = store.messages(chat_id).get(message_id or 0)
        if message is None or message.get("deleted") or message.get("from") != "bot":
            return _refuse("message to edit not found")
        changes: dict = {}
        if method == "editMessageText":
            if "text" not in message:
                return _refuse("there is no text in the message to edit")
            changes.update(text=str(params["text"]), parse_mode=params.get("parse_mode") or "")
        elif method == "editMessageCaption":
            if "text" in message:
                return _refuse("there is no caption in the message to edit")
            changes.update(caption=str(params.get("caption") or ""), parse_mode=params.get("parse_mode") or "")
        markup = _markup(params)
        changes["reply_markup"] = markup if markup and markup.get("inline_keyboard") else None
        if all(message.get(key) == value for key, value in changes.items()):
            return _refuse(NOT_MODIFIED)
        event = store.append(state, chat_id, {"type": "edit", "message_id": message_id, "changes": changes})
        message.update(changes, edit_date=int(event["at"]))
    return _ok(telegram_message(chat_id, message))


def _delete(store: Store, chat_id: int | None, params: dict) -> tuple[int, dict]:
    message_id = _chat_id(params.get("message_id"))
    with store.locked() as state:
        message = store.messages(chat_id or 0).get(message_id or 0)
        if message is None or message.get("deleted"):
            return _refuse("message to delete not found")
        store.append(state, chat_id, {"type": "delete", "message_id": message_id})
    return _ok(True)


def telegram_message(chat_id: int, message: dict, *, user: dict | None = None) -> dict:
    """A stored message as the Bot API's Message object."""
    result: dict = {"message_id": message["message_id"], "date": message.get("date") or int(time.time()),
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"}}
    result["from"] = bot_user() if message.get("from") == "bot" else (user or {"id": chat_id, "is_bot": False})
    if user:
        result["chat"].update({k: user[k] for k in ("first_name", "last_name", "username") if user.get(k)})
    if message.get("edit_date"):
        result["edit_date"] = message["edit_date"]
    if "text" in message:
        result["text"] = message["text"]
    if message.get("caption"):
        result["caption"] = message["caption"]
    photo = message.get("photo")
    if photo and photo.get("file_id"):
        result["photo"] = [{"file_id": photo["file_id"], "file_unique_id": photo["file_unique_id"],
                            "file_size": photo["file_size"], "width": photo["width"], "height": photo["height"]}]
    document = message.get("document")
    if document and document.get("file_id"):
        result["video" if document.get("video") else "document"] = {
            k: document[k] for k in ("file_id", "file_unique_id", "file_size", "file_name", "mime_type")}
    if message.get("invoice"):
        result["invoice"] = {"start_parameter": "", **message["invoice"]}
    if message.get("reply_markup"):
        result["reply_markup"] = message["reply_markup"]
    return result
