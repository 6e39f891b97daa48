"""The webhook's fast path: Telegram's POSTs answered before Django's request machinery.

An acknowledgement is a secret check, a JSON parse, one INSERT and a hand-over to the
dispatcher. Django's middleware stack (sessions, CSRF, locale, messages, security headers),
URL resolution and HttpRequest/HttpResponse objects add about a fifth of its CPU and do nothing
for it, so the WSGI application answers ``POST /telegram/webhook/`` itself, with the same
function as the Django view (views.receive), and passes every other request to Django.
It sends Django's request_started/request_finished signals, so database connections are
managed exactly as for any request (CONN_MAX_AGE).
"""

from __future__ import annotations

import logging

from django.core import signals

from . import views

log = logging.getLogger("django.request")

_REASONS = {200: "200 OK", 400: "400 Bad Request", 403: "403 Forbidden", 411: "411 Length Required",
            413: "413 Content Too Large", 500: "500 Internal Server Error"}


class WebhookFastPath:
    def __init__(self, django_application, path: str = "/telegram/webhook/"):
        self.django = django_application
        self.path = path

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.path or environ.get("REQUEST_METHOD") != "POST":
            return self.django(environ, start_response)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            status, body = self._handle(environ)
        except Exception:  # noqa: BLE001 - logged like Django's own 500s; Telegram retries later
            log.exception("Internal Server Error: %s", self.path)
            status, body = 500, b""
        finally:
            signals.request_finished.send(sender=self.__class__)
        start_response(_REASONS[status], [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _handle(environ) -> tuple[int, bytes]:
        secret = environ.get("HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return 411, b""
        if length < 0:
            return 411, b""
        if length > views.MAX_UPDATE_BYTES:  # refused unread; strangers learn nothing about the limit
            return (413, views.TOO_LARGE) if views.secret_matches(secret) else (403, b"")
        return views.receive(secret=secret, body=environ["wsgi.input"].read(length))
