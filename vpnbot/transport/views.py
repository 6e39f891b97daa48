"""The webhook: Telegram POSTs updates here; they are checked, stored and queued."""

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import dispatch, services

log = logging.getLogger(__name__)


def webhook_secret() -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from SECRET_KEY so a webhook is never open."""
    if settings.TELEGRAM_WEBHOOK_SECRET:
        return settings.TELEGRAM_WEBHOOK_SECRET
    return hmac.new(settings.SECRET_KEY.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()


# The largest body accepted (Telegram's updates are a few kilobytes).
MAX_UPDATE_BYTES = 1024 * 1024


TOO_LARGE = json.dumps({"ok": False, "error": f"the update is larger than {MAX_UPDATE_BYTES} bytes"}).encode()


# Update kinds answered in the web process before the update is queued (Telegram waits only
# seconds for them, whatever the worker's backlog): kind -> fn(update) (payments registers
# pre_checkout_query). The update is stored and queued as usual afterwards.
_fast_paths: dict[str, Callable[[dict], object]] = {}


def register_fast_path(kind: str, fn: Callable[[dict], object]) -> None:
    _fast_paths[kind] = fn


def _fast_path(payload: dict) -> None:
    for kind, fn in _fast_paths.items():
        if kind in payload:
            try:
                fn(payload)
            except Exception:  # the update is still stored and acknowledged
                log.exception("fast path for %s failed", kind)


def secret_matches(secret: str) -> bool:
    return hmac.compare_digest(secret.encode(), webhook_secret().encode())


def receive(*, secret: str, body: bytes) -> tuple[int, bytes]:
    """The webhook's whole work, shared by the Django view and the WSGI fast path
    (vpnbot/transport/wsgi.py): check the secret, validate, store, queue. (status, JSON body)"""
    if not secret_matches(secret):
        return 403, b""
    if len(body) > MAX_UPDATE_BYTES:
        return 413, TOO_LARGE
    try:
        payload = services.update_parse(body)
    except services.InvalidUpdate as exc:
        return 400, json.dumps({"ok": False, "error": str(exc)[:200]}).encode()
    if _fast_paths:
        _fast_path(payload)
    row, created = services.inbox_receive(payload=payload)
    if created:
        transaction.on_commit(partial(dispatch.enqueue, [row.pk]))
    return 200, b""


@csrf_exempt
@require_POST
def webhook(request):
    status, body = receive(secret=request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), body=request.body)
    return HttpResponse(body, status=status, content_type="application/json")
