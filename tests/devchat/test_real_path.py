"""The local chat's real path without a browser: an update the page makes goes to the webhook,
the inbox and the handlers process it, and the bot's Bot API calls land in the stand-in, served
by the same (live) server, where the page reads them."""

import json

import pytest

from devchat.services import chats
from vpnbot.shop.models import Customer
from vpnbot.transport.application import reset_application

pytestmark = pytest.mark.django_db(transaction=True)  # the live server reads what the test writes


@pytest.fixture
def standing_in(live_server, local_chat):
    local_chat.TELEGRAM_API_URL = local_chat.LOCAL_CHAT_URL = f"{live_server.url}/dev/telegram"
    reset_application()
    yield local_chat
    reset_application()


def deliver(client, settings, update):
    response = client.post("/telegram/webhook/", data=json.dumps(update), content_type="application/json",
                           HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=settings.TELEGRAM_WEBHOOK_SECRET)
    assert response.status_code == 200


def test_start_makes_a_customer_and_the_bot_answers_in_the_chat(client, standing_in):
    sara = chats.person_create(first_name="Sara", language="en")
    deliver(client, standing_in, chats.send_text(telegram_id=sara["id"], text="/start"))
    customer = Customer.objects.get(telegram_id=sara["id"])
    assert customer.first_name == "Sara" and customer.effective_language == "en"
    view = chats.chat_view(telegram_id=sara["id"])
    assert [m["from"] for m in view["messages"]][:2] == ["user", "bot"]
    assert view["messages"][0]["text"] == "/start"
    assert view["keyboard"], "the main menu under the message field"
    assert not [n for n in view["notes"] if n["type"] == "error"]
