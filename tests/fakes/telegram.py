"""A fake Telegram Bot API server: a real HTTP server on loopback.

It records every call (method, parameters, time), answers like Telegram does, and can be
told to answer 429 with retry_after, 403 for a blocked chat, or to enforce a global rate
(answering 429 past it) the way the real one does.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

# Telegram's own limits and refusals (https://core.telegram.org/bots/api), shared with the local
# stand-in of the chat page (devchat): the fake refuses what Telegram refuses
from devchat.services.rules import (  # noqa: F401 (the limits, for tests that read them here)
    CAPTION_METHODS,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_TEXT,
    STARS_METHODS,
    TEXT_METHODS,
)
from devchat.services.rules import bad_request as _bad_request
from devchat.services.rules import invoice_problem as _invoice_problem
from devchat.services.rules import maybe_json as _maybe_json

BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "VPN Shop", "username": "vpn_shop_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default listen backlog (5) resets connections under load
    daemon_threads = True


@dataclass
class Call:
    method: str
    params: dict
    at: float
    files: dict = field(default_factory=dict)

    @property
    def chat_id(self):
        value = self.params.get("chat_id")
        try:
            return int(value)
        except (TypeError, ValueError):
            return value

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"):
        self.token = token
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self._message_ids = itertools.count(1000)
        self._scripted: dict[str, deque] = {}
        self.blocked_chats: set[int] = set()
        self.rate_limit: float | None = None  # messages per second, enforced like Telegram
        self._window: deque = deque()
        self.rejected_429 = 0
        self.latency = 0.0
        # a bad day at Telegram: this share of calls answered 500 (seeded, so runs repeat)
        self.error_rate = 0.0
        self._random = random.Random(7)
        self.answered_500 = 0
        self._lost: dict[str, int] = {}
        self._stars_init()
        self.files: dict[str, dict] = {}  # file_id -> {"unique_id", "content", "path"}
        self.chat_messages: dict = {}  # chat id -> ids of the messages the bot sent there
        self.pinned: dict = {}  # chat id -> ids of its pinned messages, oldest first
        server = _Server(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    # -- control ------------------------------------------------------------------------
    def fail_next(self, method: str, *, status: int = 429, retry_after: int = 1, description: str = "", times: int = 1):
        with self.lock:
            queue = self._scripted.setdefault(method, deque())
            for _ in range(times):
                queue.append((status, retry_after, description))

    def lose_answer(self, method: str, *, times: int = 1):
        """Carry out the next call(s) of method, then close the connection without answering
        (an answer lost on the way back: the client cannot know it was done)."""
        with self.lock:
            self._lost[method] = self._lost.get(method, 0) + times

    def block(self, chat_id: int):
        self.blocked_chats.add(int(chat_id))

    def reset(self):
        with self.lock:
            self.calls.clear()
            self._scripted.clear()
            self.blocked_chats.clear()
            self.rate_limit = None
            self._window.clear()
            self.rejected_429 = 0
            self.error_rate = 0.0
            self._random = random.Random(7)
            self.answered_500 = 0
            self._lost.clear()
            self._stars_init()
            self.files.clear()
            self.chat_messages.clear()
            self.pinned.clear()

    def add_file(self, content: bytes, *, unique_id: str = "", file_id: str = "") -> str:
        """A file as if a person had sent it (a photo): getFile finds it by file_id and its
        bytes are served at /file/bot<token>/<file_path>. Returns the file_id."""
        with self.lock:
            n = len(self.files) + 1
            file_id = file_id or f"AgACAgQAAxkBAAI-{n}"
            self.files[file_id] = {"unique_id": unique_id or f"AQADfile{n}", "content": content,
                                   "path": f"photos/file_{n}.jpg"}
        return file_id

    def pinned_in(self, chat_id: int) -> list[int]:
        """The ids of the messages pinned in a chat, oldest first."""
        with self.lock:
            return list(self.pinned.get(int(chat_id), []))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -- queries --------------------------------------------------------------------------
    def calls_to(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if (method is None or c.method == method)
                    and (chat_id is None or c.chat_id == chat_id)]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [c.text for c in self.calls_to(None, chat_id)
                if c.method in ("sendMessage", "editMessageText", "sendPhoto", "editMessageCaption", "sendDocument")]

    def last_text(self, chat_id: int) -> str:
        texts = self.sent_texts(chat_id)
        return texts[-1] if texts else ""

    def buttons(self, chat_id: int) -> list[dict]:
        """Inline buttons of the last message to a chat that had any."""
        for call in reversed(self.calls_to(None, chat_id)):
            markup = call.params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            if markup and markup.get("inline_keyboard"):
                return [b for row in markup["inline_keyboard"] for b in row]
        return []

    # -- Telegram Stars ---------------------------------------------------------------------
    def _stars_init(self):
        self.invoices: dict[int, dict] = {}  # message_id -> the invoice sent
        self.invoice_links: dict[str, dict] = {}  # link -> the invoice made by createInvoiceLink
        self._link_slugs = itertools.count(1)
        self.pre_checkout_answers: dict[str, dict] = {}  # query id -> {"ok", "error_message"}
        self.star_transactions: list[dict] = []  # newest first, as the bot reads them
        self.refunded_charges: set[str] = set()
        self._query_ids = itertools.count(9000)

    def last_invoice(self, chat_id: int) -> dict:
        invoices = [i for i in self.invoices.values() if i["chat_id"] == chat_id]
        return invoices[-1] if invoices else {}

    def last_invoice_link(self) -> dict:
        """The invoice of the newest createInvoiceLink (with its "link"); pay it with pay_invoice."""
        with self.lock:
            return list(self.invoice_links.values())[-1] if self.invoice_links else {}

    def pre_checkout_query(self, *, user_id: int, invoice: dict, total_amount: int | None = None,
                           currency: str = "XTR") -> dict:
        """The update Telegram sends when the customer presses Pay on an invoice."""
        query_id = str(next(self._query_ids))
        return {"id": query_id, "from": {"id": user_id, "is_bot": False, "first_name": "Customer"},
                "currency": currency, "invoice_payload": invoice["payload"],
                "total_amount": invoice["total_amount"] if total_amount is None else total_amount}

    def pay_invoice(self, *, user_id: int, invoice: dict, total_amount: int | None = None) -> dict:
        """Telegram took the Stars (after an ok pre-checkout answer): the transaction is on the
        bot's account and the successful_payment message is what the bot receives."""
        charge_id = f"stxCHARGE{next(self._query_ids)}"
        amount = invoice["total_amount"] if total_amount is None else total_amount
        with self.lock:
            self.star_transactions.insert(0, {
                "id": charge_id, "amount": amount, "date": int(time.time()),
                "source": {"type": "user", "user": {"id": user_id, "is_bot": False, "first_name": "Customer"},
                           "transaction_type": "invoice_payment", "invoice_payload": invoice["payload"]}})
        return {"currency": invoice["currency"], "total_amount": amount, "invoice_payload": invoice["payload"],
                "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": ""}

    def _stars(self, method: str, params: dict, chat_id) -> tuple[int, dict]:
        if method == "sendInvoice":
            prices = _maybe_json(params["prices"]) if isinstance(params.get("prices"), str) else params.get("prices")
            problem = _invoice_problem(params, prices)
            if problem:
                return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
            message_id = next(self._message_ids)
            total = sum(int(p["amount"]) for p in prices)
            invoice = {"chat_id": chat_id, "message_id": message_id, "title": params["title"],
                       "description": params["description"], "payload": params["payload"],
                       "currency": params["currency"], "total_amount": total}
            with self.lock:
                self.invoices[message_id] = invoice
            return 200, {"ok": True, "result": {
                "message_id": message_id, "date": int(time.time()), "from": BOT_USER,
                "chat": {"id": chat_id, "type": "private"},
                "invoice": {"title": invoice["title"], "description": invoice["description"], "start_parameter": "",
                            "currency": invoice["currency"], "total_amount": total}}}
        if method == "createInvoiceLink":  # the same invoice as sendInvoice, as a link and in no chat
            prices = _maybe_json(params["prices"]) if isinstance(params.get("prices"), str) else params.get("prices")
            problem = _invoice_problem(params, prices)
            if problem:
                return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
            link = f"https://t.me/$Inv{next(self._link_slugs):06d}"
            invoice = {"chat_id": None, "link": link, "title": params["title"], "description": params["description"],
                       "payload": params["payload"], "currency": params["currency"],
                       "total_amount": sum(int(p["amount"]) for p in prices)}
            with self.lock:
                self.invoice_links[link] = invoice
            return 200, {"ok": True, "result": link}
        if method == "answerPreCheckoutQuery":
            ok = params.get("ok")
            ok = ok if isinstance(ok, bool) else str(ok).lower() == "true"
            if not ok and not params.get("error_message"):
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: ERROR_MESSAGE_EMPTY"}
            query_id = str(params.get("pre_checkout_query_id") or "")
            with self.lock:
                if query_id in self.pre_checkout_answers:
                    return 400, {"ok": False, "error_code": 400, "description": "Bad Request: QUERY_ID_INVALID"}
                self.pre_checkout_answers[query_id] = {"ok": ok, "error_message": params.get("error_message", "")}
            return 200, {"ok": True, "result": True}
        if method == "refundStarPayment":
            charge_id = str(params.get("telegram_payment_charge_id") or "")
            with self.lock:
                paid = next((t for t in self.star_transactions if t["id"] == charge_id and "source" in t), None)
                if paid is None or paid["source"]["user"]["id"] != int(params.get("user_id") or 0):
                    return 400, {"ok": False, "error_code": 400, "description": "Bad Request: CHARGE_NOT_FOUND"}
                if charge_id in self.refunded_charges:
                    return 400, {"ok": False, "error_code": 400, "description": "Bad Request: CHARGE_ALREADY_REFUNDED"}
                self.refunded_charges.add(charge_id)
                self.star_transactions.insert(0, {"id": charge_id, "amount": paid["amount"], "date": int(time.time()),
                                                  "receiver": {"type": "user", "user": paid["source"]["user"]}})
            return 200, {"ok": True, "result": True}
        # getStarTransactions
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        if not 1 <= limit <= 100:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: limit must be 1-100"}
        with self.lock:
            return 200, {"ok": True, "result": {"transactions": self.star_transactions[offset:offset + limit]}}

    # -- the server -------------------------------------------------------------------------
    def _answer(self, method: str, params: dict) -> tuple[int, dict]:
        with self.lock:
            scripted = self._scripted.get(method)
            if scripted:
                status, retry_after, description = scripted.popleft()
                if status == 429:
                    return 429, {"ok": False, "error_code": 429,
                                 "description": description or f"Too Many Requests: retry after {retry_after}",
                                 "parameters": {"retry_after": retry_after}}
                return status, {"ok": False, "error_code": status, "description": description or "Error"}
            if self.error_rate and method != "getMe" and self._random.random() < self.error_rate:
                self.answered_500 += 1
                return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            if self.rate_limit and method.startswith("send"):
                now = time.monotonic()
                while self._window and now - self._window[0] > 1.0:
                    self._window.popleft()
                if len(self._window) >= self.rate_limit:
                    self.rejected_429 += 1
                    return 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                 "parameters": {"retry_after": 1}}
                self._window.append(now)
        chat_id = params.get("chat_id")
        try:
            chat_id = int(chat_id) if chat_id is not None else None
        except (TypeError, ValueError):
            pass
        refusal = _bad_request(method, params)
        if refusal:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {refusal}"}
        if chat_id in self.blocked_chats:
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method in STARS_METHODS:
            return self._stars(method, params, chat_id)
        if method == "getFile":
            with self.lock:
                stored = self.files.get(str(params.get("file_id") or ""))
            if stored is None:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
            return 200, {"ok": True, "result": {"file_id": params["file_id"], "file_unique_id": stored["unique_id"],
                                                "file_size": len(stored["content"]), "file_path": stored["path"]}}
        if method in ("setWebhook", "deleteWebhook", "answerCallbackQuery", "setMyCommands"):
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            return 200, {"ok": True, "result": []}
        if method in ("pinChatMessage", "unpinChatMessage"):
            return self._pins(method, chat_id, params.get("message_id"))
        if method.startswith(("send", "edit", "copy", "forward")):
            message_id = next(self._message_ids)
            if method.startswith(("send", "copy", "forward")):
                with self.lock:
                    self.chat_messages.setdefault(chat_id, set()).add(message_id)
            message = {"message_id": message_id, "date": int(time.time()),
                       "chat": {"id": chat_id, "type": "private" if isinstance(chat_id, int) and chat_id > 0 else "group"},
                       "from": BOT_USER}
            if "text" in params:
                message["text"] = params["text"]
            if "caption" in params:
                message["caption"] = params["caption"]
            return 200, {"ok": True, "result": message}
        return 200, {"ok": True, "result": True}

    def _pins(self, method: str, chat_id, message_id) -> tuple[int, dict]:
        """pinChatMessage / unpinChatMessage as Telegram answers them: a message the bot never
        sent to that chat cannot be pinned; unpinning one that is not pinned (the person unpinned
        it, or it was deleted) is "message to unpin not found"; without message_id the most
        recent pin is removed. Several messages may be pinned at once."""
        try:
            message_id = int(message_id) if message_id is not None else None
        except (TypeError, ValueError):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message identifier is not specified"}
        with self.lock:
            pinned = self.pinned.setdefault(chat_id, [])
            if method == "pinChatMessage":
                if message_id is None:
                    return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message identifier is not specified"}
                if message_id not in self.chat_messages.get(chat_id, ()):
                    return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message to pin not found"}
                if message_id not in pinned:
                    pinned.append(message_id)
                return 200, {"ok": True, "result": True}
            if message_id is None:
                message_id = pinned[-1] if pinned else None
            if message_id is None or message_id not in pinned:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message to unpin not found"}
            pinned.remove(message_id)
            return 200, {"ok": True, "result": True}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in two writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK (40 ms on Linux), a delay no real Bot API server has
            disable_nagle_algorithm = True

            def log_message(self, *args):
                return

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                if path.startswith("/file/"):
                    self._file(path)
                    return
                prefix = f"/bot{fake.token}/"
                if not path.startswith(prefix):
                    self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                    return
                method = path[len(prefix):]
                params, files = _parse(self.headers.get("Content-Type", ""), body)
                with fake.lock:
                    fake.calls.append(Call(method, params, time.monotonic(), files))
                if fake.latency:
                    time.sleep(fake.latency)
                status, payload = fake._answer(method, params)
                with fake.lock:
                    lost = fake._lost.get(method, 0)
                    if lost:
                        fake._lost[method] = lost - 1
                if lost:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._reply(status, payload)

            do_GET = do_POST  # noqa: N815

            def _file(self, path):
                """A file's bytes, as Telegram serves them: the token in the path, 404 otherwise."""
                prefix = f"/file/bot{fake.token}/"
                with fake.lock:
                    fake.calls.append(Call("file", {"path": path[len(prefix):]}, time.monotonic()))
                    stored = next((f for f in fake.files.values() if path == prefix + f["path"]), None)
                if not path.startswith(prefix) or stored is None:
                    self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(stored["content"])))
                self.end_headers()
                self.wfile.write(stored["content"])

            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _parse(content_type: str, body: bytes) -> tuple[dict, dict]:
    if not body:
        return {}, {}
    if content_type.startswith("application/json"):
        return json.loads(body), {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: _maybe_json(v) for k, v in parse_qsl(body.decode())}, {}
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        params, files = {}, {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True)
            if filename:
                files[name] = (filename, payload)
            else:
                params[name] = _maybe_json(payload.decode())
        return params, files
    return {}, {}
