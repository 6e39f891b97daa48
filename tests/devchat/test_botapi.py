"""The stand-in for the Bot API (/dev/telegram/bot<token>/<method>): the methods the shop calls,
answered as Telegram answers them, and kept for the chat page."""

import json

import pytest

from devchat.services import chats
from tests.devchat.conftest import picture

pytestmark = pytest.mark.django_db


def call(client, settings, method, params=None, *, files=None, token=None):
    url = f"/dev/telegram/bot{token or settings.TELEGRAM_BOT_TOKEN}/{method}"
    if files:
        response = client.post(url, data={**{k: v if isinstance(v, str) else json.dumps(v) for k, v in (params or {}).items()},
                                          **files})
    else:
        response = client.post(url, data=json.dumps(params or {}), content_type="application/json")
    return response.status_code, response.json()


def messages(chat_id):
    return chats.chat_view(telegram_id=chat_id)["messages"]


@pytest.fixture
def customer(local_chat):
    return chats.person_create(first_name="Sara", language="en")


def test_get_me_and_a_wrong_token(client, local_chat):
    status, body = call(client, local_chat, "getMe")
    assert status == 200 and body["result"]["is_bot"] is True
    assert body["result"]["id"] == int(local_chat.TELEGRAM_BOT_TOKEN.split(":")[0])
    status, body = call(client, local_chat, "getMe", token="1:wrong")
    assert status == 401 and body == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_a_message_is_kept_for_the_page_with_its_buttons(client, local_chat, customer):
    markup = {"inline_keyboard": [[{"text": "Gold", "callback_data": "buy:p:3"}]]}
    status, body = call(client, local_chat, "sendMessage", {"chat_id": customer["id"], "text": "<b>Our plans</b>",
                                                           "parse_mode": "HTML", "reply_markup": markup})
    assert status == 200 and body["result"]["text"] == "<b>Our plans</b>"
    assert body["result"]["chat"]["id"] == customer["id"] and body["result"]["from"]["is_bot"]
    [shown] = messages(customer["id"])
    assert shown["from"] == "bot" and shown["text"] == "<b>Our plans</b>" and shown["reply_markup"] == markup
    assert shown["message_id"] == body["result"]["message_id"]


def test_what_telegram_refuses_is_refused_and_shown_in_the_chat(client, local_chat, customer):
    status, body = call(client, local_chat, "sendMessage", {"chat_id": customer["id"], "text": "1 < 2",
                                                           "parse_mode": "HTML"})
    assert status == 400 and "can't parse entities" in body["description"]
    status, body = call(client, local_chat, "sendMessage", {"chat_id": customer["id"], "text": "x" * 4097})
    assert status == 400 and body["description"] == "Bad Request: message is too long"
    status, body = call(client, local_chat, "sendMessage", {"chat_id": customer["id"], "text": "hi", "reply_markup": {
        "inline_keyboard": [[{"text": "long", "callback_data": "d" * 65}]]}})
    assert status == 400 and "BUTTON_DATA_INVALID" in body["description"]
    view = chats.chat_view(telegram_id=customer["id"])
    assert view["messages"] == []
    assert [n["method"] for n in view["notes"] if n["type"] == "error"] == ["sendMessage"] * 3


def test_a_message_is_edited_in_place(client, local_chat, customer):
    _, sent = call(client, local_chat, "sendMessage", {"chat_id": customer["id"], "text": "How many?", "reply_markup": {
        "inline_keyboard": [[{"text": "1", "callback_data": "q:1"}]]}})
    message_id = sent["result"]["message_id"]
    status, body = call(client, local_chat, "editMessageText", {"chat_id": customer["id"], "message_id": message_id,
                                                               "text": "Pay 99,000?"})
    assert status == 200 and body["result"]["edit_date"]
    [shown] = messages(customer["id"])
    assert shown["text"] == "Pay 99,000?" and shown["reply_markup"] is None and shown["edit_date"]
    status, body = call(client, local_chat, "editMessageText", {"chat_id": customer["id"], "message_id": message_id,
                                                               "text": "Pay 99,000?"})
    assert status == 400 and "message is not modified" in body["description"]
    status, body = call(client, local_chat, "editMessageText", {"chat_id": customer["id"], "message_id": 999,
                                                               "text": "x"})
    assert status == 400 and body["description"] == "Bad Request: message to edit not found"
    status, _ = call(client, local_chat, "editMessageReplyMarkup", {"chat_id": customer["id"], "message_id": message_id,
                                                                   "reply_markup": {"inline_keyboard": [[
                                                                       {"text": "OK", "callback_data": "ok"}]]}})
    assert status == 200 and messages(customer["id"])[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "OK"
    status, _ = call(client, local_chat, "deleteMessage", {"chat_id": customer["id"], "message_id": message_id})
    assert status == 200 and messages(customer["id"]) == []
    status, body = call(client, local_chat, "deleteMessage", {"chat_id": customer["id"], "message_id": message_id})
    assert status == 400 and "not found" in body["description"]


def test_photos_and_documents_upload_and_download_as_at_telegram(client, local_chat, customer):
    png = picture()
    status, body = call(client, local_chat, "sendPhoto", {"chat_id": customer["id"], "caption": "Revenue"},
                        files={"photo": _upload("chart.png", png, "image/png")})
    assert status == 200 and body["result"]["caption"] == "Revenue"
    file_id = body["result"]["photo"][-1]["file_id"]
    status, info = call(client, local_chat, "getFile", {"file_id": file_id})
    assert status == 200 and info["result"]["file_size"] == len(png)
    download = client.get(f"/dev/telegram/file/bot{local_chat.TELEGRAM_BOT_TOKEN}/{info['result']['file_path']}")
    assert download.status_code == 200 and download.content == png
    assert client.get(f"/dev/telegram/file/bot1:wrong/{info['result']['file_path']}").status_code == 404
    # the same file sent again by its file_id (a receipt forwarded to the admins)
    status, again = call(client, local_chat, "sendPhoto", {"chat_id": customer["id"], "photo": file_id})
    assert status == 200 and again["result"]["photo"][-1]["file_unique_id"] == body["result"]["photo"][-1]["file_unique_id"]
    status, body = call(client, local_chat, "sendPhoto", {"chat_id": customer["id"], "photo": "no-such-file"})
    assert status == 400 and "wrong file identifier" in body["description"]
    status, body = call(client, local_chat, "sendDocument", {"chat_id": customer["id"], "caption": "Your config"},
                        files={"document": _upload("config-1.txt", b"vless://abc", "text/plain")})
    assert status == 200 and body["result"]["document"]["file_name"] == "config-1.txt"
    shown = messages(customer["id"])
    assert [("photo" in m, "document" in m) for m in shown] == [(True, False), (True, False), (False, True)]


def test_a_button_press_is_answered_in_its_chat(client, local_chat, customer):
    _, sent = call(client, local_chat, "sendMessage", {"chat_id": customer["id"], "text": "Plans", "reply_markup": {
        "inline_keyboard": [[{"text": "Gold", "callback_data": "buy:p:3"}]]}})
    update = chats.press(telegram_id=customer["id"], message_id=sent["result"]["message_id"], data="buy:p:3")
    query = update["callback_query"]
    assert query["data"] == "buy:p:3" and query["message"]["text"] == "Plans" and query["from"]["id"] == customer["id"]
    status, _ = call(client, local_chat, "answerCallbackQuery", {"callback_query_id": query["id"], "text": "Done",
                                                                "show_alert": True})
    assert status == 200
    [note] = chats.chat_view(telegram_id=customer["id"])["notes"]
    assert note["type"] == "answer" and note["text"] == "Done" and note["show_alert"] is True
    status, body = call(client, local_chat, "answerCallbackQuery", {"callback_query_id": "nonsense"})
    assert status == 400 and "query ID is invalid" in body["description"]
    with pytest.raises(chats.ChatError):
        chats.press(telegram_id=customer["id"], message_id=sent["result"]["message_id"], data="buy:p:4")


def test_no_webhook_no_polling_and_no_unknown_method(client, local_chat):
    status, body = call(client, local_chat, "setWebhook", {"url": "https://shop.example.com/telegram/webhook/"})
    assert status == 400 and "no webhook to set" in body["description"]
    status, body = call(client, local_chat, "getUpdates")
    assert status == 409
    status, body = call(client, local_chat, "sendSticker", {"chat_id": 1, "sticker": "x"})
    assert status == 404 and body["error_code"] == 404
    status, body = call(client, local_chat, "setMyCommands", {"commands": []})
    assert status == 200 and body["result"] is True


def test_a_form_encoded_call_like_python_telegram_bot_makes(client, local_chat, customer):
    """PTB sends form fields, objects as JSON text."""
    response = client.post(f"/dev/telegram/bot{local_chat.TELEGRAM_BOT_TOKEN}/sendMessage", data={
        "chat_id": str(customer["id"]), "text": "Hello", "reply_markup": json.dumps({"keyboard": [[{"text": "🛒 Plans"}]]})})
    assert response.status_code == 200
    assert chats.chat_view(telegram_id=customer["id"])["keyboard"] == [["🛒 Plans"]]


def _upload(name, content, mime):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=mime)


def test_a_video_and_a_pinned_message_as_scheduled_messages_send_them(client, local_chat, customer):
    status, body = call(client, local_chat, "sendVideo", {"chat_id": customer["id"], "caption": "How to connect"},
                        files={"video": _upload("guide.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4")})
    assert status == 200 and body["result"]["video"]["file_name"] == "guide.mp4" and "document" not in body["result"]
    video_id = body["result"]["message_id"]
    status, body = call(client, local_chat, "sendMessage", {"chat_id": customer["id"], "text": "Maintenance tonight"})
    notice = body["result"]["message_id"]
    assert call(client, local_chat, "pinChatMessage", {"chat_id": customer["id"], "message_id": notice}) == (
        200, {"ok": True, "result": True})
    shown = {m["message_id"]: m for m in messages(customer["id"])}
    assert shown[notice]["pinned"] is True and "edit_date" not in shown[notice]  # a pin is not an edit
    assert shown[video_id]["document"]["file_name"] == "guide.mp4" and shown[video_id]["caption"] == "How to connect"
    status, body = call(client, local_chat, "pinChatMessage", {"chat_id": customer["id"], "message_id": 999})
    assert (status, body["description"]) == (400, "Bad Request: message to pin not found")
    assert call(client, local_chat, "unpinChatMessage", {"chat_id": customer["id"]})[0] == 200  # the latest pin
    status, body = call(client, local_chat, "unpinChatMessage", {"chat_id": customer["id"], "message_id": notice})
    assert (status, body["description"]) == (400, "Bad Request: message to unpin not found")
    assert {m["message_id"]: m for m in messages(customer["id"])}[notice]["pinned"] is False
