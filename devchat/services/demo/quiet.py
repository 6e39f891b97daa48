"""Making demo data without reaching anybody: the bot's calls answered in process (nothing is
sent, to Telegram or to the local chat's stand-in), Celery tasks run in place, and the checks
that would stop a made-up history (the anti-fraud's) off."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from celery import current_app
from django.test.utils import override_settings

from vpnbot.transport.sender import Sender, sender_override


class _NoLimits:
    def reserve(self, key: str, interval: float) -> float:
        return 0.0

    def push_back(self, key: str, seconds: float) -> None:
        return None


def _muted_transport() -> httpx.MockTransport:
    ids = itertools.count(1)

    def answer(request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        if method.startswith(("send", "edit", "copy", "forward")):
            result = {"message_id": next(ids), "date": 0, "chat": {"id": 0, "type": "private"}}
        elif method == "getFile":
            return httpx.Response(400, json={"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"})
        else:
            result = True
        return httpx.Response(200, content=json.dumps({"ok": True, "result": result}).encode())

    return httpx.MockTransport(answer)


@contextmanager
def quiet() -> Iterator[None]:
    muted = {"api_url": "http://demo.invalid", "token": "0:demo"}  # no bot, and nothing leaves the process
    sender = Sender(**muted, limiter=_NoLimits(), transport=_muted_transport())
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        # one sending thread: the answers are instant, and threads would only wait for the database
        with sender_override(sender), override_settings(ENABLE_ANTIFRAUD=False, TELEGRAM_PER_CHAT_INTERVAL=0.0,
                                                        NOTIFICATION_SEND_THREADS=1):
            yield
    finally:
        current_app.conf.task_always_eager = eager
        sender.close()
