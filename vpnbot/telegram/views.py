import hashlib
import hmac
import json
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import services, tasks


def webhook_secret() -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from SECRET_KEY so a webhook is never open."""
    if settings.TELEGRAM_WEBHOOK_SECRET:
        return settings.TELEGRAM_WEBHOOK_SECRET
    return hmac.new(settings.SECRET_KEY.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()


@csrf_exempt
@require_POST
def webhook(request):
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), webhook_secret().encode()):
        return HttpResponse(status=403)
    try:
        payload = services.update_validate(json.loads(request.body))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return JsonResponse({"ok": False, "error": str(exc)[:200]}, status=400)
    row, created = services.inbox_receive(payload=payload)
    if created:
        transaction.on_commit(partial(tasks.process_update.delay, row.pk))
    return HttpResponse(status=200)


@require_GET
def healthz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        from vpnbot.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
