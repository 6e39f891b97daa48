"""The one way out to Telegram.

Every Bot API call of the product goes through `get_sender().call(...)` (the PTB Bot too,
through `request.SenderRequest`). The sender keeps Telegram's limits across processes
(a global rate, one message per second per chat, 20 per minute per group), waits out a 429
`retry_after`, reports a chat that blocked the bot with the `chat_blocked` signal, splits
texts longer than 4096 characters, and never lets the bot token reach a log or an error.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from contextlib import contextmanager
from typing import Any

import httpx
from django.conf import settings
from django.dispatch import Signal

from .limiter import build_limiter
from .redact import redact
from .textsplit import MAX_TEXT, split_html, split_text  # noqa: F401 (MAX_TEXT: callers read it here)

log = logging.getLogger(__name__)

MAX_CAPTION = 1024

# Sent with chat_id=<int>, description=<str> when Telegram answers 403 for a chat.
chat_blocked = Signal()

# Methods that put a message in a chat and so count against the chat and global limits.
# pinning writes a service message into the chat ("… pinned a message"): it counts like a message
_LIMITED_PREFIXES = ("send", "copyMessage", "forwardMessage", "pinChatMessage")


class TelegramError(Exception):
    def __init__(self, description: str, *, status: int = 0, error_code: int | None = None):
        super().__init__(redact(description))
        self.description = redact(description)
        self.status = status
        self.error_code = error_code


class ChatUnreachable(TelegramError):
    """403: the user blocked the bot, was deactivated, or the bot was kicked."""


class RetryLater(TelegramError):
    """429 with a retry_after longer than the sender waits inline."""

    def __init__(self, retry_after: float):
        super().__init__(f"Too Many Requests: retry after {retry_after}", status=429, error_code=429)
        self.retry_after = retry_after


class TelegramNetworkError(TelegramError):
    pass


def _is_group(chat_id: Any) -> bool:
    try:
        return int(chat_id) < 0
    except (TypeError, ValueError):
        return isinstance(chat_id, str) and chat_id.startswith("@")


class Sender:
    def __init__(self, *, api_url: str, token: str, limiter=None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None):
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.limiter = limiter or build_limiter()
        self.timeout = timeout
        self._client = httpx.Client(
            timeout=timeout, limits=httpx.Limits(max_connections=100, max_keepalive_connections=20), transport=transport
        )
        self.global_interval = 1.0 / max(settings.TELEGRAM_MAX_MESSAGES_PER_SECOND, 0.001)
        self.chat_interval = settings.TELEGRAM_PER_CHAT_INTERVAL
        self.group_interval = 60.0 / max(settings.TELEGRAM_PER_GROUP_PER_MINUTE, 1)
        self.max_inline_retry_after = settings.TELEGRAM_MAX_INLINE_RETRY_AFTER
        self.max_retries = max(0, settings.TELEGRAM_MAX_RETRIES)
        self.retry_backoff = max(0.0, settings.TELEGRAM_RETRY_BACKOFF)
        self.bot_key = token.split(":", 1)[0] or "bot"

    # -- limits --------------------------------------------------------------------
    def _throttle(self, chat_id: Any, *, paid: bool = False) -> None:
        per_chat = self.group_interval if _is_group(chat_id) else self.chat_interval
        if per_chat > 0:
            wait = self.limiter.reserve(f"chat:{self.bot_key}:{chat_id}", per_chat)
            if wait > 0:
                time.sleep(wait)
        interval = 1.0 / settings.TELEGRAM_PAID_BROADCAST_PER_SECOND if paid else self.global_interval
        key = f"global-paid:{self.bot_key}" if paid else f"global:{self.bot_key}"
        wait = self.limiter.reserve(key, interval)
        if wait > 0:
            time.sleep(wait)

    # -- transport -------------------------------------------------------------------
    def raw(self, method: str, *, data: dict | None = None, json_body: dict | None = None,
            files: dict | None = None, timeout: float | None = None) -> tuple[int, bytes]:
        """POST one Bot API method; returns (status, body) after limits and retries.

        A 429 waits Telegram's retry_after (inline when short, else RetryLater). A 5xx, or a
        connection that failed or timed out before an answer, is tried again up to
        TELEGRAM_MAX_RETRIES times with a growing pause; after that the last 5xx is returned
        (call() raises it) or TelegramNetworkError is raised. Any other answer is final.
        Telegram has no idempotency key: a message whose answer was lost in a timeout may
        have been delivered, and its retry then shows it twice (that one message only)."""
        params = json_body if json_body is not None else (data or {})
        chat_id = params.get("chat_id")
        limited = chat_id not in (None, "") and method.startswith(_LIMITED_PREFIXES)
        paid = str(params.get("allow_paid_broadcast", "")).lower() == "true"
        url = f"{self.api_url}/bot{self._token}/{method}"
        uploads = _Uploads(files)
        rate_limited = failures = 0
        while True:
            if limited:
                self._throttle(chat_id, paid=paid)
            try:
                response = self._client.post(
                    url, json=json_body, data=data, files=files, timeout=timeout or self.timeout
                )
            except httpx.HTTPError as exc:
                failures += 1
                problem = f"{method}: {type(exc).__name__}: {exc}"
                if failures > self.max_retries or not uploads.rewind():
                    raise TelegramNetworkError(problem) from None
                self._pause(failures, problem)
                continue
            if response.status_code == 429:
                rate_limited += 1
                retry_after = _retry_after(response)
                if chat_id not in (None, ""):
                    self.limiter.push_back(f"chat:{self.bot_key}:{chat_id}", retry_after)
                if retry_after > self.max_inline_retry_after or rate_limited >= 5 or not uploads.rewind():
                    raise RetryLater(retry_after)
                log.info("Telegram 429 on %s, waiting %.1fs", method, retry_after)
                time.sleep(retry_after)
                continue
            if response.status_code >= 500:
                failures += 1
                if failures <= self.max_retries and uploads.rewind():
                    self._pause(failures, f"{method}: HTTP {response.status_code}")
                    continue
            if response.status_code == 403 and chat_id not in (None, ""):
                description = _description(response)
                chat_blocked.send(sender=self.__class__, chat_id=_as_int(chat_id), description=description)
            return response.status_code, response.content

    def _pause(self, failures: int, problem: str) -> None:
        """Before retry number `failures`: base, 2×base, 4×base … seconds, plus up to a quarter
        more at random so that many senders do not retry in step."""
        delay = self.retry_backoff * 2 ** (failures - 1)
        delay += random.uniform(0, delay / 4)
        log.warning("%s; retry %s of %s in %.1fs", redact(problem), failures, self.max_retries, delay)
        time.sleep(delay)

    def call(self, method: str, params: dict | None = None, *, files: dict | None = None,
             timeout: float | None = None) -> Any:
        """Call a Bot API method and return its `result`, or raise a TelegramError."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if files:
            data = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in params.items()}
            status, body = self.raw(method, data=data, files=files, timeout=timeout)
        else:
            status, body = self.raw(method, json_body=params, timeout=timeout)
        try:
            payload = json.loads(body)
        except ValueError:
            raise TelegramError(f"{method}: HTTP {status}, not JSON", status=status) from None
        if payload.get("ok"):
            return payload.get("result")
        description = payload.get("description") or f"HTTP {status}"
        cls = ChatUnreachable if status == 403 else TelegramError
        raise cls(f"{method}: {description}", status=status, error_code=payload.get("error_code"))

    # -- conveniences ------------------------------------------------------------------
    def send_message(self, chat_id: int | str, text: str, **params) -> dict:
        """Send a text; a text over 4096 characters goes as several messages (the
        keyboard, if any, rides on the last). Returns the last message."""
        html_mode = str(params.get("parse_mode") or "").upper() == "HTML"
        parts = split_html(text) if html_mode else split_text(text)
        markup = params.pop("reply_markup", None)
        result = None
        for index, part in enumerate(parts):
            extra = dict(params)
            if index == len(parts) - 1 and markup is not None:
                extra["reply_markup"] = markup
            result = self.call("sendMessage", {"chat_id": chat_id, "text": part, **extra})
        return result

    def send_photo(self, chat_id, photo, caption: str = "", **params) -> dict:
        """`photo` is a file_id/URL (str) or (filename, bytes)."""
        caption_parts = split_text(caption, MAX_CAPTION) if caption else [""]
        if isinstance(photo, str):
            result = self.call("sendPhoto", {"chat_id": chat_id, "photo": photo, "caption": caption_parts[0], **params})
        else:
            result = self.call("sendPhoto", {"chat_id": chat_id, "caption": caption_parts[0], **params},
                               files={"photo": photo})
        for extra in caption_parts[1:]:
            self.send_message(chat_id, extra)
        return result

    def send_media(self, chat_id, kind: str, media: str, caption: str = "", **params) -> dict:
        """A photo, video or document by Telegram file_id or URL, with a caption (at most 1024
        characters: the callers check it); a photo's longer caption follows as messages."""
        if kind == "photo":
            return self.send_photo(chat_id, media, caption=caption, **params)
        if kind not in ("video", "document"):
            raise ValueError(f"unknown media kind {kind!r}")
        method = "sendVideo" if kind == "video" else "sendDocument"
        return self.call(method, {"chat_id": chat_id, kind: media, "caption": caption, **params})

    def send_document(self, chat_id, filename: str, fileobj, caption: str = "", **params) -> dict:
        return self.call("sendDocument", {"chat_id": chat_id, "caption": caption[:MAX_CAPTION], **params},
                         files={"document": (filename, fileobj)}, timeout=max(self.timeout, 600))

    def download_file(self, file_id: str, *, max_bytes: int) -> bytes:
        """A file a person sent (a photo's file_id): getFile, then its bytes from
        {TELEGRAM_API_URL}/file/bot<token>/<file_path>. Raises TelegramError (too large, gone,
        Telegram's refusal) or TelegramNetworkError; the token never appears in either."""
        info = self.call("getFile", {"file_id": file_id})
        path = info.get("file_path") if isinstance(info, dict) else None
        if not path:
            raise TelegramError("getFile: no file_path (the file is not available)")
        if int(info.get("file_size") or 0) > max_bytes:
            raise TelegramError(f"getFile: the file is larger than {max_bytes} bytes")
        chunks, total = [], 0
        try:
            with self._client.stream("GET", f"{self.api_url}/file/bot{self._token}/{path}") as response:
                if response.status_code != 200:
                    raise TelegramError(f"file download: HTTP {response.status_code}", status=response.status_code)
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise TelegramError(f"file download: larger than {max_bytes} bytes")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise TelegramNetworkError(f"file download: {type(exc).__name__}") from None
        return b"".join(chunks)

    def close(self) -> None:
        self._client.close()


class _Uploads:
    """The files of a multipart call, rewound to where they started before a retry. A
    stream that cannot seek cannot be sent twice: no retry then."""

    def __init__(self, files: dict | None):
        self.streams = []
        for value in (files or {}).values():
            candidates = value if isinstance(value, tuple | list) else (value,)
            for item in candidates:
                if hasattr(item, "read"):
                    start = item.tell() if hasattr(item, "tell") and hasattr(item, "seek") else None
                    self.streams.append((item, start))

    def rewind(self) -> bool:
        for stream, start in self.streams:
            if start is None:
                return False
            stream.seek(start)
        return True


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _retry_after(response: httpx.Response) -> float:
    try:
        body = response.json()
        return float(body.get("parameters", {}).get("retry_after") or 1)
    except (ValueError, AttributeError, TypeError):
        header = response.headers.get("Retry-After")
        return float(header) if header and header.isdigit() else 1.0


def _description(response: httpx.Response) -> str:
    try:
        return str(response.json().get("description", ""))
    except ValueError:
        return ""


_lock = threading.Lock()
_sender: Sender | None = None
_sender_key: tuple | None = None
_override: Sender | None = None


@contextmanager
def sender_override(sender: Sender):
    """Within it, every Bot API call of this process goes through `sender` (demo data made
    without reaching Telegram: a sender on an in-process transport)."""
    global _override
    previous, _override = _override, sender
    try:
        yield sender
    finally:
        _override = previous


def get_sender() -> Sender:
    """The process's sender (rebuilt after a fork or a change of settings)."""
    global _sender, _sender_key
    if _override is not None:
        return _override
    key = (os.getpid(), settings.TELEGRAM_API_URL, settings.TELEGRAM_BOT_TOKEN, settings.REDIS_URL,
           settings.TELEGRAM_RATE_LIMIT_REDIS_URL, settings.TELEGRAM_MAX_MESSAGES_PER_SECOND,
           settings.TELEGRAM_PER_CHAT_INTERVAL, settings.TELEGRAM_PER_GROUP_PER_MINUTE,
           settings.TELEGRAM_MAX_INLINE_RETRY_AFTER, settings.TELEGRAM_REQUEST_TIMEOUT,
           settings.TELEGRAM_MAX_RETRIES, settings.TELEGRAM_RETRY_BACKOFF)
    with _lock:
        if _sender is None or _sender_key != key:
            _sender = Sender(api_url=settings.TELEGRAM_API_URL, token=settings.TELEGRAM_BOT_TOKEN or "0:unset",
                             timeout=settings.TELEGRAM_REQUEST_TIMEOUT)
            _sender_key = key
        return _sender
