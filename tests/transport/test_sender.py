import html
import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import redis
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.conftest import TEST_REDIS_URL
from vpnbot.shop.models import Customer, DomainEvent
from vpnbot.transport.limiter import LocalLimiter, RedisLimiter
from vpnbot.transport.sender import (
    ChatUnreachable,
    RetryLater,
    Sender,
    TelegramError,
    TelegramNetworkError,
    get_sender,
    split_html,
    split_text,
)


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.fixture
def redis_limiter():
    limiter = RedisLimiter(TEST_REDIS_URL, prefix=f"test:{uuid.uuid4().hex}:")
    yield limiter
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for key in client.scan_iter(limiter.prefix + "*"):
        client.delete(key)


def test_split_text_keeps_every_character_within_the_limit():
    text = "\n".join(f"line {i} " + "x" * 50 for i in range(200))
    parts = split_text(text)
    assert len(parts) > 1
    assert all(len(p) <= 4096 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert split_text("a" * 9000) == ["a" * 4096, "a" * 4096, "a" * 808]


def _balanced(part: str) -> bool:
    stack = []
    for closes, name in re.findall(r"<(/?)([a-z-]+)[^>]*>", part):
        if not closes:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


def _visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", text))


html_pieces = st.lists(st.one_of(
    st.text(alphabet="ab cd\nef", min_size=1, max_size=300),
    st.sampled_from(["&amp;", "&lt;", "&gt;", "&quot;"]),
    st.sampled_from(["b", "i", "code", "pre", 'a href="https://example.com/x?a=1&amp;b=2"', "u"]),
), min_size=1, max_size=120)


def _render(pieces) -> str:
    out, stack = [], []
    for piece in pieces:
        if piece in ("b", "i", "code", "pre", "u") or piece.startswith("a "):
            if stack and stack[-1] == piece.split()[0] and len(stack) > 1:
                out.append(f"</{stack.pop()}>")
            else:
                out.append(f"<{piece}>")
                stack.append(piece.split()[0])
        else:
            out.append(piece)
    out.extend(f"</{name}>" for name in reversed(stack))
    return "".join(out)


@hsettings(max_examples=150, deadline=None)
@given(pieces=html_pieces, limit=st.integers(min_value=60, max_value=400))
def test_split_html_keeps_tags_and_entities_whole(pieces, limit):
    text = _render(pieces)
    parts = split_html(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert all(_balanced(p) for p in parts)
    assert all(not re.search(r"&[a-z]*$", re.sub(r"<[^>]*>", "", p)) for p in parts)  # no entity cut in two
    assert "".join(_visible(p) for p in parts).replace("\n", "") == _visible(text).replace("\n", "")


def test_a_long_html_message_goes_out_in_parts_telegram_can_parse(fake_telegram):
    text = "<b>Report</b>\n" + "\n".join(f"<code>line {i}</code> &amp; <i>{'x' * 60}</i>" for i in range(150))
    text = "<b>" + text + "</b>"  # a tag open across every cut
    get_sender().send_message(42, text, parse_mode="HTML")
    calls = fake_telegram.calls_to("sendMessage", 42)
    assert len(calls) > 1
    assert all(len(c.params["text"]) <= 4096 and _balanced(c.params["text"]) for c in calls)
    assert all(c.params["text"].startswith("<b>") and c.params["text"].endswith("</b>") for c in calls)


def test_long_text_is_sent_as_several_messages_with_the_keyboard_on_the_last(fake_telegram):
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "x"}]]}
    get_sender().send_message(42, "y" * 5000, reply_markup=markup)
    calls = fake_telegram.calls_to("sendMessage", 42)
    assert [len(c.params["text"]) for c in calls] == [4096, 904]
    assert "reply_markup" not in calls[0].params and calls[1].params["reply_markup"] == markup


def test_a_429_is_resent_after_retry_after(fake_telegram):
    fake_telegram.fail_next("sendMessage", status=429, retry_after=1)
    get_sender().send_message(43, "hello")
    calls = fake_telegram.calls_to("sendMessage", 43)
    assert len(calls) == 2
    assert calls[1].at - calls[0].at >= 0.95


def test_a_long_retry_after_is_handed_back_to_the_caller(fake_telegram, settings):
    settings.TELEGRAM_MAX_INLINE_RETRY_AFTER = 5
    fake_telegram.fail_next("sendMessage", status=429, retry_after=60)
    with pytest.raises(RetryLater) as info:
        get_sender().send_message(44, "hello")
    assert info.value.retry_after == 60
    assert len(fake_telegram.calls_to("sendMessage", 44)) == 1


@pytest.mark.django_db
def test_a_blocked_chat_marks_the_customer(bot, tg_user, fake_telegram):
    bot.send(tg_user, "/start")
    fake_telegram.block(tg_user.id)
    with pytest.raises(ChatUnreachable):
        get_sender().send_message(tg_user.id, "are you there?")
    customer = Customer.objects.get(telegram_id=tg_user.id)
    assert customer.blocked_at is not None
    assert DomainEvent.objects.filter(name="bot_blocked", customer=customer).count() == 1
    # messaging the customer again does not send another event
    with pytest.raises(ChatUnreachable):
        get_sender().send_message(tg_user.id, "again")
    assert DomainEvent.objects.filter(name="bot_blocked").count() == 1


def test_the_token_never_appears_in_errors_or_logs(fake_telegram, caplog, settings):
    settings.TELEGRAM_API_URL = "http://127.0.0.1:1"  # nothing listens there
    sender = Sender(api_url=settings.TELEGRAM_API_URL, token=fake_telegram.token, limiter=LocalLimiter())
    with caplog.at_level(logging.DEBUG), pytest.raises(TelegramError) as info:
        sender.call("getMe")
    assert fake_telegram.token not in str(info.value)
    logging.getLogger("vpnbot").warning("request to https://api/bot%s/getMe failed", fake_telegram.token)
    from vpnbot.transport.redact import RedactTokenFilter

    record = caplog.records[-1]
    RedactTokenFilter().filter(record)
    assert fake_telegram.token not in record.getMessage()
    assert "<token>" in record.getMessage()


def test_per_chat_spacing(fake_telegram, settings):
    settings.TELEGRAM_PER_CHAT_INTERVAL = 0.5
    sender = Sender(api_url=fake_telegram.url, token=fake_telegram.token, limiter=LocalLimiter())
    for i in range(3):
        sender.send_message(77, f"m{i}")
    sender.send_message(78, "another chat is not held back")
    times = [c.at for c in fake_telegram.calls_to("sendMessage", 77)]
    # three messages to one chat take at least two intervals (less the network's jitter)
    assert times[2] - times[0] >= 0.8
    assert fake_telegram.calls_to("sendMessage", 78)[0].at - times[2] < 0.4


def test_group_chats_get_twenty_a_minute(fake_telegram, settings):
    sender = Sender(api_url=fake_telegram.url, token=fake_telegram.token, limiter=LocalLimiter())
    assert sender.group_interval == pytest.approx(3.0)
    settings.TELEGRAM_PER_GROUP_PER_MINUTE = 600  # 0.1 s apart, to keep the test short
    sender = Sender(api_url=fake_telegram.url, token=fake_telegram.token, limiter=LocalLimiter())
    for i in range(4):
        sender.send_message(-1001, f"g{i}")
    times = [c.at for c in fake_telegram.calls_to("sendMessage", -1001)]
    assert times[3] - times[0] >= 0.2


def test_a_burst_of_200_stays_within_the_global_limit(fake_telegram, settings, redis_limiter):
    import threading

    settings.TELEGRAM_MAX_MESSAGES_PER_SECOND = 100
    sender = Sender(api_url=fake_telegram.url, token=fake_telegram.token, limiter=redis_limiter)
    slots = []  # when the limiter let each message go (time.monotonic(), like the fake's .at)
    reserve = redis_limiter.reserve

    def recording_reserve(key, interval):
        wait = reserve(key, interval)
        if key.startswith("global:"):
            slots.append(time.monotonic() + max(wait, 0.0))
        return wait

    redis_limiter.reserve = recording_reserve

    def run(offset):
        for i in range(50):
            sender.send_message(1_000 + offset * 50 + i, "burst")

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = [c.at for c in fake_telegram.calls_to("sendMessage")]
    assert len(times) == 200 and len(slots) == 200
    assert max_in_any_window(slots) <= 101  # the limiter's own schedule: exact
    # at the server, a thread that overslept its slot can land next to an on-time one; on a
    # loaded machine that bunches a few messages (a few tens of ms), never more
    assert max_in_any_window(times) <= 105
    assert times[-1] - times[0] >= 1.9  # 200 messages at 100/s cannot take less


def test_two_processes_share_the_global_limit_through_redis(fake_telegram, redis_limiter):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "tests.transport.burst_worker", fake_telegram.url, fake_telegram.token, TEST_REDIS_URL, "100", "100"]
    workers = [subprocess.Popen([*cmd, str(5_000 + k * 1_000), redis_limiter.prefix], env=env, stdout=subprocess.PIPE)
               for k in range(2)]
    slots = []
    for w in workers:
        out, _err = w.communicate(timeout=60)
        assert w.returncode == 0
        slots += json.loads(out.decode().strip().splitlines()[-1])
    times = [c.at for c in fake_telegram.calls_to("sendMessage")]
    assert len(times) == 200 and len(slots) == 200
    assert max_in_any_window(slots) <= 101  # one schedule across both processes, exact
    assert max_in_any_window(times) <= 105  # arrivals, with room for sleep jitter (see above)
    assert times[-1] - times[0] >= 1.9


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_celery_worker_processes_an_update_through_a_real_redis_broker(fake_telegram, bot, tg_user):
    """A real worker process takes the task from Redis and answers /start."""
    from django.db import connection

    from vpnbot.celery import app
    from vpnbot.transport import services, tasks
    from vpnbot.transport.models import TelegramUpdate

    broker = TEST_REDIS_URL
    queue = f"test-{uuid.uuid4().hex}"  # this run's own queue: other runs on the same Redis are left alone
    settings_dict = connection.settings_dict
    scheme = "postgres" if connection.vendor == "postgresql" else "mysql"
    host = settings_dict["HOST"] or "127.0.0.1"
    db_url = f"{scheme}://{settings_dict['USER']}@{host}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vpnbot.settings", "DATABASE_URL": db_url, "CELERY_BROKER_URL": broker,
           "REDIS_URL": "", "TELEGRAM_API_URL": fake_telegram.url, "TELEGRAM_BOT_TOKEN": fake_telegram.token,
           "TELEGRAM_PER_CHAT_INTERVAL": "0", "PYTHONPATH": os.getcwd()}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "vpnbot", "worker", "-P", "solo", "--without-heartbeat",
                               "--without-gossip", "--without-mingle", "-l", "WARNING", "-Q", queue], env=env)
    try:
        row, _ = services.inbox_receive(payload=bot.message_update(tg_user, "/start"))
        # send_task publishes even in eager mode (apply_async would run the task in this process)
        with app.connection_for_write(broker) as conn:
            app.send_task(tasks.process_update.name, args=[row.pk], connection=conn, queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and TelegramUpdate.objects.get(pk=row.pk).status != "done":
            time.sleep(0.2)
        assert TelegramUpdate.objects.get(pk=row.pk).status == "done"
        assert fake_telegram.sent_texts(tg_user.id)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        client = redis.Redis.from_url(broker)
        for key in client.scan_iter(f"{queue}*"):
            client.delete(key)


# --- retries on Telegram's bad days ------------------------------------------------------------

def _sender(fake, url=None):
    return Sender(api_url=url or fake.url, token=fake.token, limiter=LocalLimiter())


def test_a_5xx_is_retried_and_the_message_goes_once(fake_telegram):
    fake_telegram.fail_next("sendMessage", status=500, times=2)
    assert _sender(fake_telegram).send_message(42, "hi")["text"] == "hi"
    assert len(fake_telegram.calls_to("sendMessage", 42)) == 3


def test_a_5xx_that_persists_fails_after_the_bounded_retries(fake_telegram, settings):
    fake_telegram.fail_next("sendMessage", status=502, times=20)
    with pytest.raises(TelegramError) as info:
        _sender(fake_telegram).send_message(42, "hi")
    assert info.value.status == 502
    assert len(fake_telegram.calls_to("sendMessage", 42)) == 1 + settings.TELEGRAM_MAX_RETRIES


@pytest.mark.parametrize("status", [400, 404, 409])
def test_a_4xx_other_than_429_is_final(fake_telegram, status):
    fake_telegram.fail_next("sendMessage", status=status, description="Bad Request: chat not found")
    with pytest.raises(TelegramError):
        _sender(fake_telegram).send_message(42, "hi")
    assert len(fake_telegram.calls_to("sendMessage", 42)) == 1


def test_the_pauses_grow_and_are_bounded(fake_telegram, settings, monkeypatch):
    settings.TELEGRAM_RETRY_BACKOFF = 0.5
    import types

    sleeps = []  # the sender's own sleeps only (patching time.sleep itself would catch other threads')
    monkeypatch.setattr("vpnbot.transport.sender.time", types.SimpleNamespace(sleep=sleeps.append,
                                                                              monotonic=time.monotonic))
    fake_telegram.fail_next("sendMessage", status=500, times=20)
    with pytest.raises(TelegramError):
        _sender(fake_telegram).send_message(42, "hi")
    assert len(sleeps) == settings.TELEGRAM_MAX_RETRIES
    for n, pause in enumerate(sleeps):
        assert 0.5 * 2 ** n <= pause <= 0.5 * 2 ** n * 1.25


def test_a_refused_connection_is_retried_then_reported(fake_telegram, monkeypatch, settings):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    pauses = []
    sender = _sender(fake_telegram, url=url)
    monkeypatch.setattr(sender, "_pause", lambda failures, problem: pauses.append(failures))
    with pytest.raises(TelegramNetworkError) as info:
        sender.send_message(42, "hi")
    assert pauses == list(range(1, settings.TELEGRAM_MAX_RETRIES + 1))
    assert fake_telegram.token not in str(info.value)


def test_a_lost_answer_is_retried_so_that_message_alone_may_show_twice(fake_telegram):
    fake_telegram.lose_answer("sendMessage")
    sender = _sender(fake_telegram)
    sender.send_message(42, "first")
    sender.send_message(42, "second")
    assert fake_telegram.sent_texts(42) == ["first", "first", "second"]


def test_an_upload_is_sent_whole_again_after_a_5xx(fake_telegram):
    import io

    content = b"backup-bytes" * 1000
    fake_telegram.fail_next("sendDocument", status=503)
    _sender(fake_telegram).send_document(42, "b.zst", io.BytesIO(content), "copy")
    calls = fake_telegram.calls_to("sendDocument", 42)
    assert len(calls) == 2 and calls[-1].files["document"] == ("b.zst", content)


def test_only_streams_that_can_seek_are_rewound_for_a_retry():
    import io

    from vpnbot.transport.sender import _Uploads

    seekable = io.BytesIO(b"abcdef")
    seekable.seek(2)
    uploads = _Uploads({"document": ("a.bin", seekable), "thumb": ("t.jpg", b"raw bytes")})
    seekable.read()
    assert uploads.rewind() and seekable.tell() == 2

    class OneWay:
        def read(self, n=-1):
            return b""

    assert not _Uploads({"document": ("b.bin", OneWay())}).rewind()
    assert _Uploads(None).rewind()


@pytest.mark.django_db
def test_with_a_third_of_the_replies_answered_500_every_customer_is_answered(bot, fake_telegram):
    from tests.conftest import TelegramUser
    from vpnbot.transport.models import TelegramUpdate

    fake_telegram.error_rate = 0.3
    users = [TelegramUser(700_000 + i, language_code="en") for i in range(40)]
    for user in users:
        bot.send(user, "/start")
    assert fake_telegram.answered_500 >= 10  # the bad day happened
    for user in users:
        assert fake_telegram.sent_texts(user.id), f"{user.id} got no answer"
    assert set(TelegramUpdate.objects.values_list("status", flat=True)) == {"done"}
