"""The production WSGI application (vpnbot.wsgi.application) answers the webhook itself and
hands everything else to Django. These tests call it the way gunicorn does."""

import io
import json

import pytest
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.conftest import Bot
from vpnbot.transport import views
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db


def call(method="POST", path="/telegram/webhook/", body=b"", *, secret=None, settings=None, length=None,
         extra=None):
    from vpnbot.wsgi import application

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "testserver", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "wsgi.errors": io.StringIO(), "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": str(len(body)) if length is None else length}
    if secret is not None:
        environ["HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"] = secret
    elif settings is not None:
        environ["HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"] = settings.TELEGRAM_WEBHOOK_SECRET
    environ.update(extra or {})
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    # as Django's test client does: the test's transaction must survive the request signals
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return int(seen["status"].split()[0]), seen["headers"], content


def test_start_goes_through_the_fast_path_to_a_reply(settings, fake_telegram, tg_user,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        status, headers, _ = call(body=json.dumps(Bot.message_update(tg_user, "/start")).encode(), settings=settings)
    assert status == 200
    assert headers["Content-Length"] == "0"
    row = TelegramUpdate.objects.get()
    assert row.status == "done", row.error
    assert "خوش آمدید" in fake_telegram.last_text(tg_user.id)


@pytest.mark.parametrize("secret", ["", "wrong"])
def test_wrong_or_missing_secret_is_refused_and_nothing_is_stored(secret, fake_telegram):
    status, _, _ = call(body=b'{"update_id": 5}', secret=secret)
    assert status == 403
    assert not TelegramUpdate.objects.exists()
    assert fake_telegram.calls == []


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b"{}", b'{"update_id": "1"}', b"\xff\xfe",
                                  b'{"update_id": 99999999999999999999999}'])
def test_malformed_bodies_get_400_with_a_reason(settings, body):
    status, _, content = call(body=body, settings=settings)
    assert status == 400
    assert json.loads(content)["ok"] is False
    assert not TelegramUpdate.objects.exists()


@pytest.mark.parametrize("length", ["", "abc", "-5"])
def test_a_missing_or_invalid_content_length_gets_411(settings, length):
    status, _, _ = call(body=b'{"update_id": 5}', settings=settings, length=length)
    assert status == 411
    assert not TelegramUpdate.objects.exists()


def test_an_oversized_body_is_refused_unread_and_only_the_secret_holder_learns_why(settings):
    huge = str(views.MAX_UPDATE_BYTES + 1)
    status, _, content = call(body=b"{}", settings=settings, length=huge)
    assert status == 413
    assert "larger than" in json.loads(content)["error"]
    assert call(body=b"{}", secret="wrong", length=huge)[0] == 403
    assert not TelegramUpdate.objects.exists()


def test_the_same_update_twice_is_stored_and_answered_once(settings, fake_telegram, tg_user,
                                                           django_capture_on_commit_callbacks):
    body = json.dumps(Bot.message_update(tg_user, "/start")).encode()
    with django_capture_on_commit_callbacks(execute=True):
        assert call(body=body, settings=settings)[0] == 200
        assert call(body=body, settings=settings)[0] == 200
    assert TelegramUpdate.objects.count() == 1
    assert len(fake_telegram.calls_to("sendMessage", tg_user.id)) == 1


def test_other_requests_are_django_s(settings):
    assert call("GET", settings=settings)[0] == 405  # the view's require_POST
    status, _, content = call("GET", "/healthz", extra={"CONTENT_LENGTH": ""})
    assert status in (200, 503) and b"database" in content
    assert call("GET", "/no-such-page/")[0] == 404


def test_an_unexpected_error_is_a_logged_500_and_the_request_is_still_finished(settings, monkeypatch, caplog):
    from vpnbot.transport import services

    def broken(**kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(services, "inbox_receive", broken)
    finished = []

    def on_finished(**kwargs):
        finished.append(kwargs["sender"])

    signals.request_finished.connect(on_finished)
    try:
        status, _, _ = call(body=b'{"update_id": 77}', settings=settings)
    finally:
        signals.request_finished.disconnect(on_finished)
    assert status == 500
    assert "database exploded" in caplog.text
    assert len(finished) == 1  # database connections are closed or kept as for any request


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.sampled_from(["update_id", "message", "callback_query"]),
                    st.none() | st.integers() | st.text(max_size=10) | st.lists(st.integers(), max_size=3))
    .map(lambda v: json.dumps(v).encode()),
))
def test_generated_bodies_never_cause_a_server_error(settings, fake_telegram, django_capture_on_commit_callbacks, body):
    with django_capture_on_commit_callbacks(execute=True):
        status, _, _ = call(body=body, settings=settings)
    assert status in (200, 400)
