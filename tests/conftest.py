import itertools
import json
import os
import threading
import time

import pytest
from django.db import connection

from tests.fakes.telegram import FakeTelegram

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_update_ids = itertools.count(int(time.time()) * 1000)
_message_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: database ids restart in every test, so keys built
    from them (a confirmation already used, a lock) must not leak from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def direct_messages(monkeypatch):
    """The message port with no outbox registered: messages go straight to the sender, as in
    a shop without the notifications app."""
    from vpnbot.transport import messages

    monkeypatch.setattr(messages, "_outbox", None)


@pytest.fixture(scope="session")
def fake_telegram_server():
    server = FakeTelegram()
    yield server
    server.stop()


@pytest.fixture
def fake_telegram(fake_telegram_server, settings):
    from vpnbot.transport.application import reset_application

    fake_telegram_server.reset()
    settings.TELEGRAM_API_URL = fake_telegram_server.url
    settings.TELEGRAM_BOT_TOKEN = fake_telegram_server.token
    reset_application()
    yield fake_telegram_server
    reset_application()


def pytest_collection_modifyitems(config, items):
    vendor = connection.vendor
    skip = pytest.mark.skip(reason="needs a database server (PostgreSQL or MariaDB: row locks, connections); SQLite serialises writers")
    for item in items:
        if "concurrency" in item.keywords and vendor == "sqlite":
            item.add_marker(skip)


class TelegramUser:
    def __init__(self, user_id: int, *, first_name="Sara", username="sara", language_code="fa"):
        self.id = user_id
        self.first_name = first_name
        self.username = username
        self.language_code = language_code

    def as_dict(self):
        data = {"id": self.id, "is_bot": False, "first_name": self.first_name, "language_code": self.language_code}
        if self.username:
            data["username"] = self.username
        return data


class Bot:
    """Drives the product through its webhook the way Telegram does."""

    def __init__(self, client, fake, capture, settings):
        self.client = client
        self.fake = fake
        self.capture = capture
        self.settings = settings

    def post(self, update: dict, *, secret: str | None = None):
        headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": self.settings.TELEGRAM_WEBHOOK_SECRET if secret is None else secret}
        with self.capture(execute=True):
            return self.client.post("/telegram/webhook/", data=json.dumps(update), content_type="application/json", **headers)

    @staticmethod
    def message_update(user: TelegramUser, text: str | None = None, *, photo: bool | str = False, edited: bool = False,
                       update_id: int | None = None) -> dict:
        """photo=True: a photo of its own; photo="<unique id>": that very photo again (Telegram gives
        the same file_unique_id to the same file whoever sends it, and a new file_id each time)."""
        message = {"message_id": next(_message_ids), "date": int(time.time()), "from": user.as_dict(),
                   "chat": {"id": user.id, "type": "private", "first_name": user.first_name}}
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
        if photo:
            unique = photo if isinstance(photo, str) else f"AQAD-{message['message_id']}"
            message["photo"] = [
                {"file_id": "AgAC-small-" + str(message["message_id"]), "file_unique_id": f"{unique}-s", "width": 90,
                 "height": 90},
                {"file_id": "AgAC-large-" + str(message["message_id"]), "file_unique_id": unique, "width": 800,
                 "height": 800},
            ]
        if edited:
            message["edit_date"] = int(time.time())
        return {"update_id": update_id or next(_update_ids), "edited_message" if edited else "message": message}

    @staticmethod
    def callback_update(user: TelegramUser, data: str, *, message_id: int = 1, update_id: int | None = None) -> dict:
        return {"update_id": update_id or next(_update_ids), "callback_query": {
            "id": str(next(_message_ids)), "from": user.as_dict(), "chat_instance": "ci", "data": data,
            "message": {"message_id": message_id, "date": int(time.time()), "text": "…",
                        "chat": {"id": user.id, "type": "private"}, "from": {"id": 777000111, "is_bot": True,
                                                                              "first_name": "VPN Shop"}}}}

    def send(self, user: TelegramUser, text: str, **kwargs):
        return self.post(self.message_update(user, text, **kwargs))

    def photo(self, user: TelegramUser, unique_id: str | None = None):
        return self.post(self.message_update(user, None, photo=unique_id or True))

    def press(self, user: TelegramUser, data: str):
        return self.post(self.callback_update(user, data))

    def press_button(self, user: TelegramUser, label_part: str):
        for button in self.fake.buttons(user.id):
            if label_part in button["text"]:
                return self.press(user, button["callback_data"])
        raise AssertionError(f"no button with {label_part!r} in {self.fake.buttons(user.id)}")


@pytest.fixture
def bot(client, fake_telegram, django_capture_on_commit_callbacks, settings):
    return Bot(client, fake_telegram, django_capture_on_commit_callbacks, settings)


@pytest.fixture
def tg_user():
    return TelegramUser(int(time.time() * 1000) % 10_000_000 + 100_000)


@pytest.fixture
def tg_admin():
    return TelegramUser(9001, first_name="Admin", username="boss", language_code="en")


def run_threads(target, n: int) -> list:
    """Run target(i) in n threads at once; each closes its DB connection."""
    from django.db import connections

    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
