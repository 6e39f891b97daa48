"""Updates Telegram would not send, or that are for nobody in particular, end done: ignored
or answered politely, never failed with a traceback."""

import itertools
import time

import pytest

from vpnbot.shop.models import Customer
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db
_ids = itertools.count(int(time.time()) * 1000 + 500_000)
BOT = {"id": 777000111, "is_bot": True, "first_name": "VPN Shop"}
PERSON = {"id": 4243, "is_bot": False, "first_name": "A", "language_code": "en"}

CASES = {
    "a channel post": {"channel_post": {"message_id": 5, "date": 1, "text": "/start",
                                        "chat": {"id": -100123, "type": "channel", "title": "News"}}},
    "a message without from": {"message": {"message_id": 5, "date": 1, "chat": {"id": 4242, "type": "private"},
                                           "text": "/start"}},
    "a message without date": {"message": {"message_id": 5, "from": PERSON, "text": "/start",
                                           "chat": {"id": 4243, "type": "private"}}},
    "a message without chat": {"message": {"message_id": 5, "date": 1, "from": PERSON, "text": "/start"}},
    "a message from a bot": {"message": {"message_id": 5, "date": 1, "from": BOT, "text": "/start",
                                         "chat": {"id": 4244, "type": "private"}}},
    "a photo without from": {"message": {"message_id": 5, "date": 1, "chat": {"id": 4250, "type": "private"},
                                         "photo": [{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]}},
    "a press without data or from": {"callback_query": {"id": "10", "chat_instance": "c"}},
    "a press without data": {"callback_query": {"id": "11", "chat_instance": "c", "from": PERSON}},
    "a text that is not a string": {"message": {"message_id": 5, "date": 1, "from": PERSON, "text": 12,
                                                "chat": {"id": 4243, "type": "private"}}},
    "an update of an unknown kind": {"message_reaction_count": {"chat": {"id": 1, "type": "private"}}},
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_malformed_or_personless_update_ends_done_without_a_traceback(bot, fake_telegram, name):
    response = bot.post({"update_id": next(_ids), **CASES[name]})
    assert response.status_code == 200
    row = TelegramUpdate.objects.get()
    assert (row.status, row.error) == ("done", "")
    # nobody gets an apology for a failure, nobody unknown becomes a customer
    assert not [t for t in fake_telegram.sent_texts() if "went wrong" in t or "مشکلی" in t]
    assert not Customer.objects.exclude(telegram_id=PERSON["id"]).exists()
    for call in fake_telegram.calls_to("sendMessage"):
        assert call.chat_id == PERSON["id"]  # if anyone is answered, it is the person who wrote
