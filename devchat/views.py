"""The local chat's HTTP side: the stand-in for the Bot API (/dev/telegram/bot<token>/<method>
and its files), and the chat page (/dev/chat/, staff only) with the JSON it reads and posts.
Every one of them answers 404 unless LOCAL_CHAT is on (urls.py)."""

from __future__ import annotations

import hmac
import json
import mimetypes

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from vpnbot.transport.views import webhook_secret

from .services import botapi, chats
from .services.store import get_store

MAX_PHOTO_UPLOAD = 10 * 1024 * 1024


# --- the stand-in for the Bot API ---------------------------------------------------------------------

def _token_matches(token: str) -> bool:
    return hmac.compare_digest(token.encode(), str(settings.TELEGRAM_BOT_TOKEN).encode())


def _unauthorized() -> JsonResponse:
    return JsonResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)


@csrf_exempt
def bot_api(request, token: str, method: str):
    """One Bot API call, as the bot makes it: JSON, a form, or multipart with uploads."""
    if not _token_matches(token):
        return _unauthorized()
    files = {}
    if request.content_type == "application/json":
        try:
            params = json.loads(request.body or b"{}")
        except ValueError:
            params = None
        if not isinstance(params, dict):
            return JsonResponse({"ok": False, "error_code": 400, "description": "Bad Request: invalid JSON"}, status=400)
    else:
        params = {**request.GET.dict(), **request.POST.dict()}
        files = {name: (upload.name, upload.read(), upload.content_type or "") for name, upload in request.FILES.items()}
    status, payload = botapi.botapi_call(method, params, files)
    return JsonResponse(payload, status=status)


@csrf_exempt
def bot_file(request, token: str, path: str):
    """A file's bytes at {TELEGRAM_API_URL}/file/bot<token>/<file_path>, as Telegram serves them."""
    content = get_store().file_bytes(path) if _token_matches(token) else None
    if content is None:
        return JsonResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
    return HttpResponse(content, content_type="application/octet-stream")


# --- the chat page ---------------------------------------------------------------------------------------

def _staff(view, *, page: bool = False):
    """Staff only: the page sends to the admin's login, its JSON answers 403."""

    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            if page:
                return redirect_to_login(request.get_full_path(), "admin:login")
            return JsonResponse({"error": _("Log in as staff first.")}, status=403)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _error(exc: Exception) -> JsonResponse:
    return JsonResponse({"error": str(exc)}, status=400)


@require_GET
def chat_page(request):
    config = {
        "api": request.path.rstrip("/") + "/api/",
        "webhook": "/telegram/webhook/",
        "secret": webhook_secret(),
        "csrf": get_token(request),
        "languages": [[code, str(name)] for code, name in settings.LANGUAGES],
        "language": settings.LANGUAGE_CODE,
    }
    standing_in = settings.TELEGRAM_API_URL.rstrip("/") == settings.LOCAL_CHAT_URL
    return render(request, "devchat/chat.html", {"config": config, "standing_in": standing_in,
                                                 "api_url": settings.TELEGRAM_API_URL})


def people(request):
    """GET: whom the page can be (?search= among the customers); POST: a new customer."""
    if request.method == "POST":
        data = _json(request)
        try:
            person = chats.person_create(first_name=str(data.get("first_name") or ""), language=str(data.get("language") or ""))
        except chats.ChatError as exc:
            return _error(exc)
        return JsonResponse({"person": person}, status=201)
    return JsonResponse(chats.people(search=request.GET.get("search", "")[:64]))


def _json(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _number(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_GET
def chat(request, telegram_id: int):
    """A chat as the page shows it; ?after=<n> gives the answers and refusals after event n."""
    try:
        return JsonResponse(chats.chat_view(telegram_id=telegram_id, after=_number(request.GET.get("after")) or 0))
    except chats.ChatError as exc:
        return JsonResponse({"error": str(exc)}, status=404)


@require_POST
def send_text(request, telegram_id: int):
    try:
        update = chats.send_text(telegram_id=telegram_id, text=str(_json(request).get("text") or ""))
    except chats.ChatError as exc:
        return _error(exc)
    return JsonResponse({"update": update})


@require_POST
def send_photo(request, telegram_id: int):
    upload = request.FILES.get("photo")
    if upload is None:
        return _error(chats.ChatError(_("Choose a picture to send.")))
    if upload.size > MAX_PHOTO_UPLOAD:
        return _error(chats.ChatError(_("A photo is at most 10 MB.")))
    try:
        update = chats.send_photo(telegram_id=telegram_id, content=upload.read(), name=upload.name or "photo.jpg",
                                  caption=request.POST.get("caption", ""))
    except chats.ChatError as exc:
        return _error(exc)
    return JsonResponse({"update": update})


@require_POST
def press(request, telegram_id: int):
    data = _json(request)
    message_id = _number(data.get("message_id"))
    try:
        if message_id is None:
            raise chats.ChatError(_("Which message's button?"))
        update = chats.press(telegram_id=telegram_id, message_id=message_id, data=str(data.get("data") or ""))
    except chats.ChatError as exc:
        return _error(exc)
    return JsonResponse({"update": update})


@require_GET
def file(request, file_id: str):
    """A photo or document of a chat, for the page to show or download."""
    store = get_store()
    record = store.file(file_id)
    content = store.file_bytes(record["file_path"]) if record else None
    if content is None:
        return JsonResponse({"error": _("No such file.")}, status=404)
    mime = record.get("mime_type") or mimetypes.guess_type(record.get("file_name") or "")[0] or "application/octet-stream"
    if record["file_path"].startswith("photos/"):
        mime = "image/jpeg" if not mime.startswith("image/") else mime
    response = HttpResponse(content, content_type=mime)
    if not mime.startswith("image/"):
        response["Content-Disposition"] = f'attachment; filename="{record.get("file_name") or "file"}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


chat_page = _staff(chat_page, page=True)
people = _staff(people)
chat = _staff(chat)
send_text = _staff(send_text)
send_photo = _staff(send_photo)
press = _staff(press)
file = _staff(file)
