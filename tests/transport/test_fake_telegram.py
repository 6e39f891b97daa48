"""The fake Bot API server refuses what Telegram refuses, and answers like Telegram does."""

import json

import httpx
import pytest

from tests.fakes.telegram import FakeTelegram


@pytest.fixture(scope="module")
def fake():
    server = FakeTelegram()
    yield server
    server.stop()


def post(fake, method, *, json_body=None, data=None, files=None):
    response = httpx.post(f"{fake.url}/bot{fake.token}/{method}", json=json_body, data=data, files=files)
    return response.status_code, response.json()


def refused(description):
    return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


def keyboard(data):
    return {"inline_keyboard": [[{"text": "ok", "callback_data": "a"}], [{"text": "b", "callback_data": data}]]}


@pytest.mark.parametrize("data", ["x" * 65, "ب" * 33, ""])
def test_callback_data_over_64_bytes_or_empty_is_refused(fake, data):
    # JSON body, reply_markup as an object
    assert post(fake, "sendMessage", json_body={"chat_id": 1, "text": "hi", "reply_markup": keyboard(data)}) \
        == refused("BUTTON_DATA_INVALID")
    # JSON body, reply_markup JSON-encoded as a string (what PTB sends)
    assert post(fake, "editMessageText", json_body={"chat_id": 1, "message_id": 2, "text": "hi",
                                                     "reply_markup": json.dumps(keyboard(data))}) \
        == refused("BUTTON_DATA_INVALID")
    # form and multipart bodies
    assert post(fake, "sendMessage", data={"chat_id": "1", "text": "hi", "reply_markup": json.dumps(keyboard(data))}) \
        == refused("BUTTON_DATA_INVALID")
    assert post(fake, "sendPhoto", data={"chat_id": "1", "reply_markup": json.dumps(keyboard(data))},
                files={"photo": ("p.jpg", b"jpeg")}) == refused("BUTTON_DATA_INVALID")


@pytest.mark.parametrize("data", ["x" * 64, "ب" * 32, "buy:ok:1:1:150000:abcdef12"])
def test_callback_data_up_to_64_bytes_passes(fake, data):
    status, payload = post(fake, "sendMessage", json_body={"chat_id": 1, "text": "hi", "reply_markup": keyboard(data)})
    assert status == 200 and payload["ok"] and payload["result"]["text"] == "hi"


@pytest.mark.parametrize("method", ["sendMessage", "editMessageText"])
def test_text_limits(fake, method):
    assert post(fake, method, json_body={"chat_id": 1, "text": "x" * 4097}) == refused("message is too long")
    assert post(fake, method, data={"chat_id": "1", "text": "ب" * 4097}) == refused("message is too long")
    assert post(fake, method, json_body={"chat_id": 1, "text": " \n\t "}) == refused("message text is empty")
    assert post(fake, method, json_body={"chat_id": 1}) == refused("message text is empty")
    assert post(fake, method, json_body={"chat_id": 1, "text": "x" * 4096})[0] == 200
    assert post(fake, method, json_body={"chat_id": 1, "text": "  " + "x" * 4096 + "\n\n"})[0] == 200  # counted stripped
    # entities do not count: Telegram measures the text after parsing the HTML
    html = "<code>" + "&amp;" * 4096 + "</code>"
    assert post(fake, method, json_body={"chat_id": 1, "text": html, "parse_mode": "HTML"})[0] == 200
    assert post(fake, method, json_body={"chat_id": 1, "text": html})[0] == 400


@pytest.mark.parametrize("method, field", [("sendPhoto", "photo"), ("sendDocument", "document")])
def test_caption_limit(fake, method, field):
    assert post(fake, method, json_body={"chat_id": 1, field: "file-id", "caption": "x" * 1025}) \
        == refused("message caption is too long")
    assert post(fake, method, data={"chat_id": "1", "caption": "x" * 1025}, files={field: ("f.txt", b"data")}) \
        == refused("message caption is too long")
    assert post(fake, method, data={"chat_id": "1", "caption": "x" * 1024}, files={field: ("f.txt", b"data")})[0] == 200
    assert post(fake, method, json_body={"chat_id": 1, field: "file-id"})[0] == 200  # no caption at all is fine


def test_refused_calls_are_recorded(fake):
    fake.reset()
    post(fake, "sendMessage", json_body={"chat_id": 5, "text": "x" * 5000})
    assert [c.method for c in fake.calls_to(chat_id=5)] == ["sendMessage"]


@pytest.mark.parametrize("text, error", [
    ("<b>bold", 'can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>x</b></i>", 'can\'t find end tag corresponding to start tag "b"'),
    ("a < b", 'unexpected "<" (escape it as &lt;)'),
    ("<br>", 'unsupported start tag "br"'),
])
def test_html_telegram_cannot_parse_is_refused(fake, text, error):
    assert post(fake, "sendMessage", json_body={"chat_id": 1, "text": text, "parse_mode": "HTML"}) \
        == refused(f"can't parse entities: {error}")
    status, _body = post(fake, "sendMessage", json_body={"chat_id": 1, "text": text})  # plain text: anything goes
    assert status == 200


def test_well_formed_html_is_accepted(fake):
    text = '<b>a</b> &lt; <a href="https://example.com/?a=1&amp;b=2">link</a> <code>x</code> <tg-spoiler>s</tg-spoiler>'
    status, body = post(fake, "sendMessage", json_body={"chat_id": 1, "text": text, "parse_mode": "HTML"})
    assert status == 200 and body["ok"]


def test_pinning_and_unpinning_as_telegram_answers_them(fake):
    fake.reset()
    status, sent = post(fake, "sendMessage", json_body={"chat_id": 42, "text": "pin me"})
    message_id = sent["result"]["message_id"]
    assert post(fake, "pinChatMessage", json_body={"chat_id": 42, "message_id": 999_999}) == refused("message to pin not found")
    assert post(fake, "pinChatMessage", json_body={"chat_id": 43, "message_id": message_id}) \
        == refused("message to pin not found")  # another chat's message
    assert post(fake, "pinChatMessage", json_body={"chat_id": 42, "message_id": message_id,
                                                   "disable_notification": True}) == (200, {"ok": True, "result": True})
    assert fake.pinned_in(42) == [message_id]
    assert post(fake, "unpinChatMessage", json_body={"chat_id": 42, "message_id": message_id}) == (200, {"ok": True, "result": True})
    assert post(fake, "unpinChatMessage", json_body={"chat_id": 42, "message_id": message_id}) \
        == refused("message to unpin not found")
    fake.block(42)
    assert post(fake, "pinChatMessage", json_body={"chat_id": 42, "message_id": message_id})[0] == 403


def test_a_video_caption_is_limited_like_a_photo_caption(fake):
    assert post(fake, "sendVideo", json_body={"chat_id": 1, "video": "BAAC", "caption": "x" * 1025}) \
        == refused("message caption is too long")
