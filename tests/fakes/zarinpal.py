"""A fake Zarinpal payment gateway (REST v4): a real HTTP server on loopback.

One class, ``FakeZarinpal``. It answers ``request.json``, ``verify.json``, ``inquiry.json`` and
``unVerified.json`` under ``/pg/v4/payment/`` and serves ``/pg/StartPay/<authority>``, with the
shapes and codes below; ``pay()`` / ``fail()`` / ``reverse()`` play the customer at the bank;
``return_url()`` is where the gateway sends the customer's browser back; every call is
recorded in ``calls``; knobs script faults.

What was read, and where (searched 2026-11, no network from the tests):

* zarinpal.com/docs/paymentGateway/connectToGateway (the official guide, Persian): the request
  is ``POST https://payment.zarinpal.com/pg/v4/payment/request.json`` with JSON ``merchant_id``
  (36 characters), ``amount`` (integer), ``currency`` (optional, ``IRR`` or ``IRT``),
  ``description``, ``callback_url``, ``metadata`` {``mobile``, ``email``, ``order_id``}. Older
  copies of the same page (next.zarinpal.com/paymentGateway/guide, www.zarinpal.com/docs/...html)
  name ``https://api.zarinpal.com`` and say the amount is in Rial; ``currency`` came later.
* The official PHP SDK, github.com/ZarinPal/zarinpal-php-sdk: ``src/Options.php`` (base_url
  ``https://payment.zarinpal.com``, sandbox_base_url ``https://sandbox.zarinpal.com``),
  ``src/Endpoint/PaymentGateway/PaymentGateway.php`` (paths ``/pg/v4/payment/{request,verify,
  unVerified,reverse,inquiry}.json``, the customer's link ``{base}/pg/StartPay/{authority}`` on
  the same host as the API, in sandbox too; an answer is an error when ``errors`` is not empty
  or ``data`` is empty, and a non-200 answer whose body has ``errors`` carries the same error),
  ``examples/Verify.php`` (the callback's query is ``Authority`` and ``Status``; ``Status=OK``
  before verifying; codes 100 and 101 are both success, with ``ref_id``, ``card_pan``, ``fee``).
* Success: ``{"data": {"code": 100, "message": "Success", "authority": "A000…" (36 characters),
  "fee_type": "Merchant", "fee": 100}, "errors": []}``; verify adds ``card_hash``, ``card_pan``
  (masked, ``502229******5995``), ``ref_id``; 101 = "Verified" (verified before; shetabit/multipay
  #152, hoomanna/zarinpal-composer-library #18: 101 carries the ref_id again).
* Errors: ``{"data": [], "errors": {"code": -9, "message": "The input params invalid, validation
  error.", "validations": [...]}}`` (fanishah/zarinpal-pay README; the same shape in the SDK).
  zarinpal.com/docs/paymentGateway/errorList (the part read): -9 validation, -10 "Terminal is
  not valid, please check merchant_id or ip address.", -11 "Terminal is not active", -12 "To
  many attempts, please try again later.", -14 callback domain mismatch, -15 suspended, -16/-17
  merchant level. The verify codes, word for word the same in several clients' copies of that
  list (error tables in public Zarinpal client code): -50 "Session is not valid, amounts values
  is not the same.", -51 "Session is not valid, session is not active paid try." (not paid /
  failed), -52 "Oops!!, please contact our support team", -53 "Session is not this merchant_id
  session", -54 "Invalid authority.".
  NOT documented: the HTTP status of an error answer. The official SDK copes with both (a 200
  with ``errors``, and a non-200 whose body has ``errors``), so this fake sends ``error_status``
  (default 200) and the provider must read the body either way (the tests run both).
* zarinpal.com/docs/paymentGateway/otherMethods/Inquiry (its example names api.zarinpal.com; the
  SDK uses the same base as the other calls): ``inquiry.json`` {merchant_id,
  authority} -> ``status`` VERIFIED / PAID (paid, not verified) / IN_BANK (the customer is at
  the bank) / FAILED / REVERSED, with ``code`` and ``message``; "never use it to verify".
* next.zarinpal.com/paymentGateway/other: ``unVerified.json`` {merchant_id} -> ``data.code``,
  ``data.authorities`` [{authority, amount, callback_url, referer, date "2020-07-01 17:33:25"}].
* A paid payment that is not verified in time is returned to the customer by Zarinpal
  ("reversed"): ``reverse()`` models it (inquiry REVERSED, verify -51).

Not modelled: the StartPay page itself (a stub page), reverse.json, ZarinGate, wages, the
sandbox's own quirks, amount limits other than "at least 1,000 Rial", the IP allow-list.

Knobs: ``fail_next(n, status=500, path=None)`` (an nginx-like 5xx page, nothing done),
``drop_next(n, path=None)`` (the connection closed without an answer, nothing done),
``stall_next(n, seconds, path=None, act=True)`` (the answer held ``seconds``: past a client's
timeout; with ``act`` the call was done first, e.g. a verify the shop never heard of),
``latency`` (seconds added to every call), ``error_status`` (HTTP status of ``errors`` answers),
``inquiry_enabled`` (False: inquiry answers -9, as on a gateway without it).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlencode

from tests.fakes.loopback import LoopbackServer, drop

API = "/pg/v4/payment/"
START_PAY = "/pg/StartPay/"
MERCHANT_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MESSAGES = {
    -9: "The input params invalid, validation error.",
    -10: "Terminal is not valid, please check merchant_id or ip address.",
    -11: "Terminal is not active, please contact our support team.",
    -50: "Session is not valid, amounts values is not the same.",
    -51: "Session is not valid, session is not active paid try.",
    -53: "Session is not this merchant_id session",
    -54: "Invalid authority.",
}
NGINX_5XX = "<html>\r\n<head><title>{code} Error</title></head>\r\n<body>\r\n<center><h1>{code}</h1></center>\r\n" \
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

# a session's life at the gateway
IN_BANK, PAID, VERIFIED, FAILED, REVERSED = "IN_BANK", "PAID", "VERIFIED", "FAILED", "REVERSED"


_Server = LoopbackServer


@dataclass
class Call:
    method: str
    path: str
    body: object
    at: float
    status: int | None = None  # None: no answer was sent (dropped, held past the client)


@dataclass
class Session:
    authority: str
    merchant_id: str
    amount: int  # as asked, in `currency`
    currency: str
    callback_url: str
    description: str
    metadata: dict
    state: str = IN_BANK
    paid_amount: int | None = None
    ref_id: int | None = None
    created: float = field(default_factory=time.time)


class FakeZarinpal:
    def __init__(self, *, merchant_id: str = "", merchants: tuple[str, ...] = (), inactive: tuple[str, ...] = ()):
        self.merchants = {m for m in (merchant_id, *merchants) if m}
        self.inactive = set(inactive)
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self.sessions: dict[str, Session] = {}
        # knobs
        self.latency = 0.0
        self.error_status = 200
        self.inquiry_enabled = True
        self._faults: list[dict] = []
        self._stopping = threading.Event()
        self._authorities = itertools.count(217_885_159)
        self._ref_ids = itertools.count(201_000_000)
        server = _Server(("127.0.0.1", 0), self._handler_class())
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    # -- control ----------------------------------------------------------------------------------
    def stop(self):
        self._stopping.set()  # releases held answers
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, n: int = 1, *, status: int = 500, path: str | None = None):
        """The next n calls (to `path`, a substring, or any) answer `status` with nginx's page."""
        self._add_fault("status", n, path, status=status)

    def drop_next(self, n: int = 1, *, path: str | None = None):
        """The next n calls are closed without an answer, before anything is done."""
        self._add_fault("drop", n, path)

    def stall_next(self, n: int = 1, *, seconds: float, path: str | None = None, act: bool = True):
        """The next n calls are answered only after `seconds` (a client with a shorter timeout
        gives up). With `act`, the call is done before waiting (a verify that happened)."""
        self._add_fault("stall", n, path, seconds=seconds, act=act)

    def _add_fault(self, kind: str, n: int, path: str | None, **extra):
        with self.lock:
            self._faults.append({"kind": kind, "left": n, "path": path, **extra})

    def _take_fault(self, path: str) -> dict | None:
        with self.lock:
            for fault in self._faults:
                if fault["left"] > 0 and (fault["path"] is None or fault["path"] in path):
                    fault["left"] -= 1
                    return dict(fault)
        return None

    # -- the customer at the bank -----------------------------------------------------------------
    def pay(self, authority: str, *, amount: int | None = None):
        """The customer pays (the amount asked unless told otherwise): inquiry says PAID."""
        with self.lock:
            session = self.sessions[authority]
            if session.state != IN_BANK:
                raise ValueError(f"session {authority} is {session.state}, not {IN_BANK}")
            session.state = PAID
            session.paid_amount = session.amount if amount is None else amount

    def fail(self, authority: str):
        """The customer cancels at the bank, or the bank refuses the card: inquiry says FAILED."""
        with self.lock:
            session = self.sessions[authority]
            if session.state != IN_BANK:
                raise ValueError(f"session {authority} is {session.state}, not {IN_BANK}")
            session.state = FAILED

    def reverse(self, authority: str):
        """A paid, unverified payment given back to the customer (Zarinpal does it when the
        merchant does not verify in time)."""
        with self.lock:
            session = self.sessions[authority]
            if session.state != PAID:
                raise ValueError(f"session {authority} is {session.state}, not {PAID}")
            session.state = REVERSED

    def return_url(self, authority: str) -> str:
        """Where the gateway sends the customer back: the callback_url with Authority and
        Status (OK once paid, NOK otherwise)."""
        with self.lock:
            session = self.sessions[authority]
            status = "OK" if session.state in (PAID, VERIFIED) else "NOK"
            joiner = "&" if "?" in session.callback_url else "?"
            return f"{session.callback_url}{joiner}{urlencode({'Authority': authority, 'Status': status})}"

    def calls_to(self, name: str) -> list[Call]:
        """Calls to one endpoint: "request", "verify", "inquiry", "unVerified" or "StartPay"."""
        with self.lock:
            return [c for c in self.calls if c.path.rstrip("/").split("/")[-1].split(".")[0] == name
                    or (name == "StartPay" and c.path.startswith(START_PAY))]

    # -- the API ----------------------------------------------------------------------------------
    def _error(self, code: int, message: str | None = None, validations=None) -> tuple[int, dict]:
        return self.error_status, {"data": [], "errors": {"code": code, "message": message or MESSAGES.get(code, ""),
                                                          "validations": validations or []}}

    def _merchant_error(self, merchant_id) -> tuple[int, dict] | None:
        if not isinstance(merchant_id, str) or not MERCHANT_RE.match(merchant_id):
            return self._error(-9, validations=[{"merchant_id": "The merchant id must be 36 characters."}])
        if merchant_id not in self.merchants:
            return self._error(-10)
        if merchant_id in self.inactive:
            return self._error(-11)
        return None

    def _request(self, body: dict) -> tuple[int, dict]:
        if problem := self._merchant_error(body.get("merchant_id")):
            return problem
        amount, currency = body.get("amount"), body.get("currency", "IRR")
        validations = []
        if isinstance(amount, bool) or not isinstance(amount, int):
            validations.append({"amount": "The amount must be an integer."})
        elif amount < (1000 if currency == "IRR" else 100):
            validations.append({"amount": "The amount must be at least 1000."})
        if currency not in ("IRR", "IRT"):
            validations.append({"currency": "The selected currency is invalid."})
        callback_url = body.get("callback_url")
        if not isinstance(callback_url, str) or not callback_url.startswith(("http://", "https://")):
            validations.append({"callback_url": "The callback url field is required."})
        description = body.get("description")
        if not isinstance(description, str) or not description or len(description) > 500:
            validations.append({"description": "The description field is required."})
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict):
            validations.append({"metadata": "The metadata must be an array."})
        if validations:
            return self._error(-9, validations=validations)
        authority = f"A{next(self._authorities):035d}"
        self.sessions[authority] = Session(authority=authority, merchant_id=body["merchant_id"], amount=amount,
                                           currency=currency, callback_url=callback_url, description=description,
                                           metadata=metadata)
        return 200, {"data": {"code": 100, "message": "Success", "authority": authority, "fee_type": "Merchant",
                              "fee": max(amount // 100, 1)}, "errors": []}

    def _session_for(self, body: dict) -> tuple[Session | None, tuple[int, dict] | None]:
        if problem := self._merchant_error(body.get("merchant_id")):
            return None, problem
        authority = body.get("authority")
        if not isinstance(authority, str) or not authority:
            return None, self._error(-9, validations=[{"authority": "The authority field is required."}])
        session = self.sessions.get(authority)
        if session is None:
            return None, self._error(-54)
        if session.merchant_id != body["merchant_id"]:
            return None, self._error(-53)
        return session, None

    def _verify(self, body: dict) -> tuple[int, dict]:
        session, problem = self._session_for(body)
        if problem:
            return problem
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int):
            return self._error(-9, validations=[{"amount": "The amount must be an integer."}])
        if session.state not in (PAID, VERIFIED):
            return self._error(-51)
        if amount != session.amount or session.paid_amount != session.amount:
            return self._error(-50)
        code = 101 if session.state == VERIFIED else 100
        if session.state == PAID:
            session.state = VERIFIED
            session.ref_id = next(self._ref_ids)
        return 200, {"data": {"code": code, "message": "Verified" if code == 101 else "Paid",
                              "card_hash": "1EBE3EBEBE35C7EC0F8D6EE4F2F859107A87822CA179BC9528767EA7B5489B69",
                              "card_pan": "502229******5995", "ref_id": session.ref_id, "fee_type": "Merchant",
                              "fee": max(session.amount // 100, 1)}, "errors": []}

    def _inquiry(self, body: dict) -> tuple[int, dict]:
        if not self.inquiry_enabled:
            return self._error(-9, validations=[{"authority": "inquiry is not available"}])
        session, problem = self._session_for(body)
        if problem:
            return problem
        return 200, {"data": {"code": 100, "message": "Success", "status": session.state}, "errors": []}

    def _unverified(self, body: dict) -> tuple[int, dict]:
        if problem := self._merchant_error(body.get("merchant_id")):
            return problem
        rows = [{"authority": s.authority, "amount": s.amount, "callback_url": s.callback_url, "referer": "",
                 "date": datetime.fromtimestamp(s.created).strftime("%Y-%m-%d %H:%M:%S")}
                for s in self.sessions.values() if s.state == PAID and s.merchant_id == body["merchant_id"]]
        return 200, {"data": {"code": 100, "message": "Success", "authorities": rows}, "errors": []}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                return

            def _record(self, body) -> Call:
                call = Call(self.command, self.path, body, time.time())
                with fake.lock:
                    fake.calls.append(call)
                return call

            def _send(self, call: Call, status: int, payload: bytes, content_type: str):
                call.status = status
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            _drop = drop

            def do_GET(self):
                call = self._record(None)
                if fake.latency:
                    time.sleep(fake.latency)
                if self.path.startswith(START_PAY):
                    authority = self.path[len(START_PAY):].split("?")[0].strip("/")
                    with fake.lock:
                        known = authority in fake.sessions
                    page = f"<html><body>ZarinPal: pay {authority}</body></html>" if known else "<html>404</html>"
                    return self._send(call, 200 if known else 404, page.encode(), "text/html; charset=utf-8")
                return self._send(call, 404, b"<html>404</html>", "text/html")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                call = self._record(body)
                if fake.latency:
                    time.sleep(fake.latency)
                fault = fake._take_fault(self.path)
                if fault and fault["kind"] == "drop":
                    return self._drop()
                if fault and fault["kind"] == "status":
                    page = NGINX_5XX.format(code=fault["status"]).encode()
                    return self._send(call, fault["status"], page, "text/html")
                handlers = {"request": fake._request, "verify": fake._verify, "inquiry": fake._inquiry,
                            "unVerified": fake._unverified}
                name = self.path[len(API):].split(".json")[0] if self.path.startswith(API) else ""
                handler = handlers.get(name)
                if handler is None:
                    return self._send(call, 404, b"<html>404</html>", "text/html")
                if fault and fault["kind"] == "stall" and not fault["act"]:
                    fake._stopping.wait(fault["seconds"])  # held, then closed: nothing was done
                    return self._drop()
                if not isinstance(body, dict):
                    status, answer = fake._error(-9, validations=[{"body": "The body must be JSON."}])
                else:
                    with fake.lock:
                        status, answer = handler(body)
                if fault and fault["kind"] == "stall":
                    fake._stopping.wait(fault["seconds"])  # done, but the answer comes too late
                try:
                    return self._send(call, status, json.dumps(answer).encode(), "application/json")
                except OSError:  # the client gave up waiting
                    return None

        return Handler
