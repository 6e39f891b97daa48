"""/dev/: the local chat page (/dev/chat/) and the Bot API stand-in the bot talks to
(/dev/telegram/bot<token>/<method>, /dev/telegram/file/bot<token>/<path>). Included by
vpnbot/urls.py; every URL answers 404 unless LOCAL_CHAT is on."""

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.urls import path

from . import views


def _local(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.LOCAL_CHAT:
            raise Http404("The local chat is off (LOCAL_CHAT).")
        return view(request, *args, **kwargs)

    wrapped.csrf_exempt = getattr(view, "csrf_exempt", False)
    return wrapped


urlpatterns = [
    path("telegram/bot<str:token>/<str:method>", _local(views.bot_api), name="devchat-botapi"),
    path("telegram/file/bot<str:token>/<path:path>", _local(views.bot_file), name="devchat-botfile"),
    path("chat/", _local(views.chat_page), name="devchat-page"),
    path("chat/api/people", _local(views.people), name="devchat-people"),
    path("chat/api/chats/<int:telegram_id>", _local(views.chat), name="devchat-chat"),
    path("chat/api/chats/<int:telegram_id>/text", _local(views.send_text), name="devchat-text"),
    path("chat/api/chats/<int:telegram_id>/photo", _local(views.send_photo), name="devchat-photo"),
    path("chat/api/chats/<int:telegram_id>/press", _local(views.press), name="devchat-press"),
    path("chat/api/files/<str:file_id>", _local(views.file), name="devchat-file"),
]
