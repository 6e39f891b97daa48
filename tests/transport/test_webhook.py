import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db


def test_start_goes_through_the_whole_path_in_persian(bot, tg_user, fake_telegram):
    response = bot.send(tg_user, "/start")
    assert response.status_code == 200
    row = TelegramUpdate.objects.get()
    assert row.status == "done", row.error
    texts = fake_telegram.sent_texts(tg_user.id)
    assert len(texts) == 1
    assert "خوش آمدید" in texts[0]


def test_start_and_help_in_english(bot, fake_telegram):
    from tests.conftest import TelegramUser

    user = TelegramUser(5550001, language_code="en-US")
    bot.send(user, "/start")
    assert "welcome to the VPN shop" in fake_telegram.last_text(user.id)
    bot.send(user, "/help")
    assert "/plans" in fake_telegram.last_text(user.id)
    assert "Here is what I can do" in fake_telegram.last_text(user.id)


@pytest.mark.parametrize("secret", [None, "", "wrong"])
def test_missing_or_wrong_secret_is_refused_and_nothing_stored(client, fake_telegram, secret):
    headers = {} if secret is None else {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret}
    response = client.post("/telegram/webhook/", data=json.dumps({"update_id": 1}), content_type="application/json", **headers)
    assert response.status_code == 403
    assert not TelegramUpdate.objects.exists()
    assert fake_telegram.calls == []


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'"x"', b"{}", b'{"update_id": "1"}',
                                  b'{"update_id": true}', b'{"update_id": 1.5}', b"\xff\xfe",
                                  b'{"update_id": 99999999999999999999999}'])
def test_malformed_bodies_get_400(client, settings, body):
    response = client.post("/telegram/webhook/", data=body, content_type="application/json",
                           HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=settings.TELEGRAM_WEBHOOK_SECRET)
    assert response.status_code == 400
    assert not TelegramUpdate.objects.exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["update_id", "message", "callback_query", "edited_message"]), json_values)
    .map(lambda v: json.dumps(v).encode()),
))
def test_generated_bodies_never_cause_a_server_error(client, settings, fake_telegram, django_capture_on_commit_callbacks, body):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/telegram/webhook/", data=body, content_type="application/json",
                               HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=settings.TELEGRAM_WEBHOOK_SECRET)
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("body", [b'{"update_id": 1, "x": NaN}', b'{"update_id": 1, "x": Infinity}',
                                  b'{"update_id": 1, "x": -Infinity}', b'{"update_id": 1, "x": 1e400}'])
def test_numbers_no_database_stores_are_refused(client, settings, body):
    response = client.post("/telegram/webhook/", data=body, content_type="application/json",
                           HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=settings.TELEGRAM_WEBHOOK_SECRET)
    assert response.status_code == 400
    assert not TelegramUpdate.objects.exists()


@pytest.mark.django_db(transaction=True)  # the production path: autocommit, no savepoint
def test_nul_characters_and_lone_surrogates_are_stored_and_processed(bot, tg_user, fake_telegram):
    update = bot.message_update(tg_user, "/help")
    update["message"]["from"]["first_name"] = "a\u0000b\ud800c"
    update["message"]["chat"]["title\u0000"] = "\udfff"
    assert bot.post(update).status_code == 200
    row = TelegramUpdate.objects.get()
    assert row.status == "done"
    assert row.payload["message"]["from"]["first_name"] == "a\ufffdb\ufffdc"
    assert row.payload["message"]["chat"]["title\ufffd"] == "\ufffd"
    assert fake_telegram.sent_texts(tg_user.id)


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(update_id=st.integers(min_value=1, max_value=2**62), content=st.dictionaries(
    st.sampled_from(["message", "callback_query", "edited_message", "my_chat_member", "x"]), json_values, max_size=3))
def test_generated_updates_with_a_valid_id_are_stored_or_refused_never_a_server_error(client, settings, fake_telegram,
                                                                                    django_capture_on_commit_callbacks,
                                                                                    update_id, content):
    body = json.dumps({"update_id": update_id, **content}).encode()
    stored = TelegramUpdate.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/telegram/webhook/", data=body, content_type="application/json",
                               HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=settings.TELEGRAM_WEBHOOK_SECRET)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert TelegramUpdate.objects.filter(update_id=update_id).exists()
    else:
        assert TelegramUpdate.objects.count() == stored


def test_same_update_twice_is_handled_once(bot, tg_user, fake_telegram):
    update = bot.message_update(tg_user, "/start")
    assert bot.post(update).status_code == 200
    assert bot.post(update).status_code == 200
    assert TelegramUpdate.objects.count() == 1
    assert len(fake_telegram.calls_to("sendMessage", tg_user.id)) == 1


def test_a_failing_handler_marks_the_row_failed_without_retry(bot, tg_user, fake_telegram, monkeypatch):
    from vpnbot.shop import handlers

    def boom(ctx):
        raise RuntimeError("kaboom in help")

    monkeypatch.setattr(handlers, "help_command", boom)
    from vpnbot.transport.application import reset_application

    reset_application()
    response = bot.send(tg_user, "/help")
    assert response.status_code == 200
    row = TelegramUpdate.objects.get()
    assert row.status == "failed"
    assert "kaboom in help" in row.error
    assert row.attempts == 1
    # the customer is told something went wrong, once
    assert len(fake_telegram.calls_to("sendMessage", tg_user.id)) == 1


def test_callback_query_edited_message_and_photo_updates(bot, tg_user, fake_telegram):
    bot.send(tg_user, "/language")
    bot.press(tg_user, "lang:en")
    assert fake_telegram.calls_to("answerCallbackQuery")
    assert any("Language set to English" in t for t in fake_telegram.sent_texts(tg_user.id))
    before = len(fake_telegram.calls)
    bot.post(bot.message_update(tg_user, "/start", edited=True))
    assert len(fake_telegram.calls) == before  # an edited command is not run again
    bot.photo(tg_user)
    assert TelegramUpdate.objects.filter(status="done").count() == 4


def test_unknown_command_gets_a_helpful_answer(bot, tg_user, fake_telegram):
    bot.send(tg_user, "/nonsense")
    assert "/help" in fake_telegram.last_text(tg_user.id)


def test_a_row_left_processing_by_a_crashed_worker_is_picked_up(bot, tg_user, fake_telegram, settings):
    from datetime import timedelta

    from django.utils import timezone

    from vpnbot.transport import services

    row, _ = services.inbox_receive(payload=bot.message_update(tg_user, "/start"))
    TelegramUpdate.objects.filter(pk=row.pk).update(
        status="processing", attempts=1, started_at=timezone.now() - timedelta(seconds=settings.TELEGRAM_PROCESSING_TIMEOUT + 5))
    assert services.inbox_requeue_stale() == [row.pk]
    assert services.inbox_process(inbox_id=row.pk) == "done"
    assert fake_telegram.sent_texts(tg_user.id)
    # one that keeps getting lost fails visibly instead of looping
    row2, _ = services.inbox_receive(payload=bot.message_update(tg_user, "/help"))
    TelegramUpdate.objects.filter(pk=row2.pk).update(
        status="processing", attempts=settings.TELEGRAM_MAX_ATTEMPTS, started_at=timezone.now() - timedelta(days=1))
    assert services.inbox_requeue_stale() == []
    assert TelegramUpdate.objects.get(pk=row2.pk).status == "failed"


def test_admin_can_retry_a_failed_update(admin_client, bot, tg_user, fake_telegram, django_capture_on_commit_callbacks):
    from vpnbot.transport import services

    row, _ = services.inbox_receive(payload=bot.message_update(tg_user, "/start"))
    TelegramUpdate.objects.filter(pk=row.pk).update(status="failed", error="boom")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/telegram/telegramupdate/", {"action": "retry", "_selected_action": [row.pk]})
    assert response.status_code == 302
    assert TelegramUpdate.objects.get(pk=row.pk).status == "done"
    assert admin_client.get("/admin/telegram/telegramupdate/?status__exact=done").status_code == 200


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    from vpnbot.celery import app

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_acknowledgements_store_each_update_once(bot, tg_user, monkeypatch):
    """Many request threads at once (grouped into shared INSERTs on PostgreSQL, more waiting
    than one INSERT takes), some with the same update twice: each update is stored once and
    exactly one of its requests is told it is new."""
    from tests.conftest import run_threads
    from vpnbot.transport import services

    monkeypatch.setattr(services, "GROUP_INSERT_MAX", 4)

    updates = [bot.message_update(tg_user, f"/help {i}", update_id=9_000 + i % 30) for i in range(40)]
    results = run_threads(lambda i: services.inbox_receive(payload=updates[i]), 40)
    assert not [r for r in results if isinstance(r, Exception)]
    new = [row for row, created in results if created]
    assert sorted(row.update_id for row in new) == sorted({u["update_id"] for u in updates})
    stored = dict(TelegramUpdate.objects.values_list("update_id", "pk"))
    assert {row.update_id: row.pk for row in new} == stored


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_refuses_fails_only_its_own_request(bot, tg_user, monkeypatch):
    from django.db import DataError, connection

    from tests.conftest import run_threads
    from vpnbot.transport import services

    if connection.vendor != "postgresql":
        pytest.skip("the grouped INSERT is PostgreSQL's")
    real = services._pg_insert

    def refusing(conn, batch):
        if any(w.row.update_id == 7_007 for w in batch):
            raise DataError("refused")
        return real(conn, batch)

    monkeypatch.setattr(services, "_pg_insert", refusing)
    updates = [bot.message_update(tg_user, f"/help {i}", update_id=7_000 + i) for i in range(20)]
    results = run_threads(lambda i: services.inbox_receive(payload=updates[i]), 20)
    assert isinstance(results[7], DataError)
    assert all(created for _row, created in (r for r in results if not isinstance(r, Exception)))
    assert sorted(TelegramUpdate.objects.values_list("update_id", flat=True)) == [7_000 + i for i in range(20) if i != 7]


@pytest.mark.django_db(transaction=True)
def test_a_row_whose_insert_never_finished_is_not_answered_as_a_duplicate(bot, tg_user, monkeypatch):
    from django.db import OperationalError, connection

    from vpnbot.transport import services

    if connection.vendor != "postgresql":
        pytest.skip("the grouped INSERT is PostgreSQL's")
    monkeypatch.setattr(services, "_store_rows", lambda conn, batch: None)  # gave up without an answer
    with pytest.raises(OperationalError):
        services.inbox_receive(payload=bot.message_update(tg_user, "/help"))
    monkeypatch.undo()
    row, created = services.inbox_receive(payload=bot.message_update(tg_user, "/help"))
    assert created and TelegramUpdate.objects.filter(pk=row.pk).exists()
