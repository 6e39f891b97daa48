"""A fake NowPayments API: a real HTTP server on loopback, and the IPNs NowPayments would send.

``FakeNowPayments()`` answers the part of the API the shop uses, the way the real one does
(status codes, the ``{"status": false, "statusCode", "code", "message"}`` error body, field
names and types), records every call, has knobs for faults, and plays the customer: it makes
the payment that the invoice page makes when the customer picks a coin, moves it along the
status ladder, and signs the IPN that NowPayments would POST for it.

What was read, and where (November 2026):

* The official API documentation, the Postman collection "NOWPayments API"
  (documenter.getpostman.com/view/7907941/2s93JusNJt; read from a copy of its export in the
  public repository DishIs/fce-frontend, ``postman.json``):

  - ``POST /v1/invoice``, header ``x-api-key``, JSON ``price_amount`` (required, fiat),
    ``price_currency`` (required, "usd"), optional ``pay_currency``, ``ipn_callback_url``,
    ``order_id``, ``order_description``, ``success_url``, ``cancel_url``, ``partially_paid_url``,
    ``is_fixed_rate``, ``is_fee_paid_by_user``. Answer ``201 Created``: ``id`` (a string of
    digits, "4522625843"), ``order_id``, ``order_description``, ``price_amount`` (a STRING,
    "1000"), ``price_currency``, ``pay_currency`` (null: chosen on the page), ``ipn_callback_url``,
    ``invoice_url`` ("https://nowpayments.io/payment/?iid=<id>"), ``success_url``, ``cancel_url``,
    ``created_at``, ``updated_at`` (the fields list adds ``token_id``, ``partially_paid_url``,
    ``payout_currency``, ``is_fixed_rate``, ``is_fee_paid_by_user``; the answer printed in the
    README of nswbmw/nowpayments-node has all of them, plus ``customer_email``, ``source``,
    ``collect_user_data``).
  - ``GET /v1/payment/{payment_id}``, header ``x-api-key``: ``payment_id`` (a number),
    ``invoice_id``, ``payment_status``, ``pay_address``, ``payin_extra_id``, ``price_amount``,
    ``price_currency``, ``pay_amount``, ``actually_paid``, ``pay_currency``, ``order_id``,
    ``order_description``, ``purchase_id``, ``outcome_amount``, ``outcome_currency``,
    ``payout_hash``, ``payin_hash``, ``created_at``, ``updated_at``, ``burning_percent``, ``type``,
    ``payment_extra_ids``. Must be asked with the key that made the payment.
  - ``GET /v1/payment/?invoiceId=...`` (the list, the only way to find the payments of an
    invoice) needs ``Authorization: Bearer <JWT>`` besides the key; the JWT comes from
    ``POST /v1/auth`` with the dashboard's email and password and lasts 5 minutes. The shop has
    no such credentials, so the fake answers the list without a JWT with a 401.
  - Statuses: waiting, confirming, confirmed, sending, partially_paid, finished, failed,
    refunded, expired ("the user didn't send the funds ... in the 7 days time window").
  - IPN: POSTed to ``ipn_callback_url`` "once the transaction status is changed", body
    "similar to a get payment status response body", header ``x-nowpayments-sig`` = hex
    HMAC-SHA512, keyed with the IPN secret, of the body sorted by keys; the Node example sorts
    recursively (``sortObject``) then ``JSON.stringify``; the Python example is
    ``json.dumps(message, separators=(',', ':'), sort_keys=True)``. The webhook example:
    ``payment_id``, ``parent_payment_id``, ``invoice_id``, ``payment_status``, ``pay_address``,
    ``payin_extra_id``, ``price_amount``, ``price_currency``, ``pay_amount``, ``actually_paid``,
    ``actually_paid_at_fiat``, ``pay_currency``, ``order_id``, ``order_description``,
    ``purchase_id`` (a string there), ``outcome_amount``, ``outcome_currency``,
    ``payment_extra_ids``, and a nested ``fee`` object (``currency``, ``depositFee``,
    ``withdrawalFee``, ``serviceFee``). Not answered 2xx = sent again ("recurrent
    notifications", a count and a timeout set in the dashboard).
  - "Repeated deposits" (more money sent later to the same address) and "wrong-asset
    deposits" arrive as their own payments with ``parent_payment_id`` set, "finished" or
    "partially_paid"; the docs advise not to deliver on them automatically.
* NowPayments' help centre, "IPN and how to setup" (nowpayments.zendesk.com, article
  21395546303389): no IPN is sent at all without an IPN secret generated in the dashboard;
  the endpoint must answer within 3 s; the body is sorted alphabetically by key and hashed
  with HMAC(SHA-512) keyed with the IPN secret.
* The error body shape ``{"status":false,"statusCode":400,"code":"INVALID_REQUEST_PARAMS",
  "message":"Payment id must be a number"}`` is quoted from a real answer in
  PrevailExcel/laravel-nowpayments issue #8; the collection shows the same shape
  (BAD_REQUEST, NOT_FOUND). A bad key is a 403 with code ``INVALID_API_KEY`` (a real log in
  oguenfoude/digitalkey ``SETUP_PAYMENTS.md``); its message text ("Invalid api key") and the
  404 / 401 / 500 texts below are plausible, not quoted.

How the fake signs, written here independently of the shop's verification: it builds the IPN
as NowPayments' Node server would (``JSON.stringify`` of the object: compact, non-ASCII as is,
numbers as JavaScript prints them, so a tiny ``pay_amount`` is ``0.00000123``, not Python's
``1.23e-06``), and signs the same object with its keys sorted at every level.

Not modelled: the invoice page itself, coins, estimates and minimum amounts, fixed rates,
payouts, the sandbox, IP allow-lists, the dashboard's own IPN re-sends.

Faults: ``fail_next(path_substring, kind, times=1, method=None)`` with kind ``"http500"``
(JSON 500, nothing done), ``"http502"`` (Cloudflare's HTML page, nothing done), ``"drop"``
(connection closed before acting), ``"drop_after_act"`` (done, then closed),
``"timeout_after_act"`` (done, the answer held ``hold_seconds``, then closed). ``down = True``
resets every connection; ``latency`` adds seconds to every call.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackServer, drop, reset

FAULT_KINDS = ("http500", "http502", "drop", "drop_after_act", "timeout_after_act")
STATUSES = ("waiting", "confirming", "confirmed", "sending", "partially_paid", "finished", "failed", "refunded",
            "expired")
PAID_SOMETHING = ("confirming", "confirmed", "sending", "partially_paid", "finished", "refunded")
COIN_USD = {"btc": Decimal("60000"), "eth": Decimal("3000"), "trx": Decimal("0.12"), "usdttrc20": Decimal("1")}
CLOUDFLARE_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
                  b"</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n")


_Server = LoopbackServer


@dataclass
class Call:
    method: str
    path: str
    query: dict
    body: object
    at: float
    status: int | None = None  # None: no answer was sent (down, dropped, held)
    headers: dict = field(default_factory=dict)


class _Err(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(status, code, message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"status": False, "statusCode": self.status, "code": self.code, "message": self.message}


# -- JavaScript's JSON.stringify, written for the fake -------------------------------------------

def js_number(value) -> str:
    """Number.prototype.toString: the shortest round-trip digits (as Python's repr finds them),
    plain between 1e-7 and 1e21, exponent form outside."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    value = float(value)
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    exact = Decimal(repr(abs(value))).normalize()
    _sign, digit_tuple, exponent = exact.as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = exponent + k  # value = 0.digits * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def js_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def js_stringify(value, *, sort: bool = False) -> str:
    """JSON.stringify(value) (compact); with sort, of sortObject(value) from NowPayments' docs."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float | Decimal):
        return js_number(value)
    if isinstance(value, str):
        return js_string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(js_stringify(v, sort=sort) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value) if sort else list(value)
        return "{" + ",".join(js_string(k) + ":" + js_stringify(value[k], sort=sort) for k in keys) + "}"
    raise TypeError(f"cannot stringify {type(value).__name__}")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeNowPayments:
    def __init__(self, *, api_key: str | None = None, ipn_secret: str | None = None):
        self.api_key = api_key or "-".join(secrets.token_hex(4).upper()[:7] for _ in range(4))
        self.ipn_secret = ipn_secret or secrets.token_urlsafe(24)
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        # knobs
        self.down = False
        self.latency = 0.0
        self.hold_seconds = 10.0
        self._faults: list[list] = []
        # state
        self.invoices: dict[str, dict] = {}
        self.payments: dict[int, dict] = {}
        self._invoice_ids = itertools.count(4_522_625_843 + secrets.randbelow(10_000) * 1000)
        self._payment_ids = itertools.count(5_592_161_154 + secrets.randbelow(10_000) * 1000)
        self._stopping = threading.Event()
        self.server = _Server(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    # -- control ------------------------------------------------------------------------------
    def stop(self):
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        with self.lock:
            self.calls.clear()
            self._faults.clear()
            self.invoices.clear()
            self.payments.clear()
            self.down = False
            self.latency = 0.0

    def fail_next(self, path_substring: str, kind: str, times: int = 1, method: str | None = None):
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        with self.lock:
            self._faults.append([path_substring, kind, times, method.upper() if method else None])

    def calls_to(self, path_substring: str = "", method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if path_substring in c.path and (method is None or c.method == method.upper())]

    def last_invoice(self) -> dict:
        with self.lock:
            return list(self.invoices.values())[-1]

    # -- the customer on the invoice page -------------------------------------------------------
    def pay(self, invoice_id: str, status: str = "waiting", /, *, pay_currency: str = "btc", actually_paid=None,
            payment_id: int | None = None, parent_payment_id: int | None = None, **fields) -> dict:
        """The customer picked ``pay_currency`` on the invoice page (a payment is made for the
        invoice) and the payment is now at ``status``; ``actually_paid`` defaults to the whole
        ``pay_amount`` once money was seen. ``payment_id`` moves an existing payment; a
        ``parent_payment_id`` makes a repeated deposit. Returns the payment as the API shows it."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self.lock:
            invoice = self.invoices[str(invoice_id)]
            now = time.time()
            if payment_id is None:
                price = Decimal(invoice["price_amount"])
                pay_amount = (price / COIN_USD[pay_currency]).quantize(Decimal("0.00000001"), ROUND_HALF_UP)
                payment_id = next(self._payment_ids)
                self.payments[payment_id] = {
                    "payment_id": payment_id, "parent_payment_id": parent_payment_id,
                    "invoice_id": int(invoice["id"]), "payment_status": "waiting",
                    "pay_address": "bc1q" + secrets.token_hex(19), "payin_extra_id": None,
                    "price_amount": float(price), "price_currency": invoice["price_currency"],
                    "pay_amount": float(pay_amount), "actually_paid": 0, "actually_paid_at_fiat": 0,
                    "pay_currency": pay_currency, "order_id": invoice["order_id"],
                    "order_description": invoice["order_description"], "purchase_id": str(next(self._payment_ids)),
                    "outcome_amount": float((pay_amount * Decimal("0.995")).quantize(Decimal("0.00000001"))),
                    "outcome_currency": pay_currency, "payout_hash": None, "payin_hash": None,
                    "created_at": _iso(now), "updated_at": _iso(now), "burning_percent": None,
                    "type": "crypto2crypto", "payment_extra_ids": None,
                    "fee": {"currency": pay_currency, "depositFee": 0, "withdrawalFee": 0, "serviceFee": 0},
                }
            payment = self.payments[payment_id]
            payment["payment_status"] = status
            if actually_paid is not None:
                payment["actually_paid"] = actually_paid
            elif status in PAID_SOMETHING and not payment["actually_paid"]:
                payment["actually_paid"] = payment["pay_amount"]
            if status in PAID_SOMETHING and payment["actually_paid"]:
                payment["payin_hash"] = payment["payin_hash"] or secrets.token_hex(32)
                fiat = Decimal(repr(float(payment["actually_paid"]))) * COIN_USD[payment["pay_currency"]]
                payment["actually_paid_at_fiat"] = float(fiat.quantize(Decimal("0.01")))
            payment.update(fields)
            payment["updated_at"] = _iso(now)
            return dict(payment)

    def ipn_for(self, invoice_id: str, status: str, /, *, actually_paid=None, payment_id: int | None = None,
                **fields) -> tuple[bytes, str]:
        """The IPN NowPayments POSTs when the invoice's payment reaches ``status`` (the payment is
        made on the first call, then moved; pass ``payment_id`` to move a given one):
        (body bytes, x-nowpayments-sig)."""
        with self.lock:
            if payment_id is None:
                mine = [p for p in self.payments.values() if p["invoice_id"] == int(invoice_id)
                        and not p["parent_payment_id"]]
                payment_id = mine[-1]["payment_id"] if mine else None
            payment = self.pay(invoice_id, status, actually_paid=actually_paid, payment_id=payment_id, **fields)
        return self.ipn_of(payment)

    def ipn_of(self, payment: dict) -> tuple[bytes, str]:
        keys = ("payment_id", "parent_payment_id", "invoice_id", "payment_status", "pay_address", "payin_extra_id",
                "price_amount", "price_currency", "pay_amount", "actually_paid", "actually_paid_at_fiat",
                "pay_currency", "order_id", "order_description", "purchase_id", "outcome_amount", "outcome_currency",
                "payment_extra_ids", "fee")
        body = {k: payment[k] for k in keys if k in payment}
        body.update({k: v for k, v in payment.items() if k not in keys and k not in (
            "payout_hash", "payin_hash", "burning_percent", "type")})
        return js_stringify(body).encode(), self.sign(body)

    def sign(self, body: dict) -> str:
        return hmac.new(self.ipn_secret.encode(), js_stringify(body, sort=True).encode(), hashlib.sha512).hexdigest()

    # -- the API --------------------------------------------------------------------------------
    def _check_key(self, headers) -> None:
        if headers.get("x-api-key") != self.api_key:
            raise _Err(403, "INVALID_API_KEY", "Invalid api key")

    def _create_invoice(self, headers, body) -> tuple[int, dict]:
        self._check_key(headers)
        if not isinstance(body, dict):
            raise _Err(400, "INVALID_REQUEST_PARAMS", "Request body must be a JSON object")
        price = body.get("price_amount")
        if price is None:
            raise _Err(400, "INVALID_REQUEST_PARAMS", '"price_amount" is required')
        if isinstance(price, bool) or not isinstance(price, int | float) or price <= 0:
            raise _Err(400, "INVALID_REQUEST_PARAMS", '"price_amount" must be a positive number')
        currency = body.get("price_currency")
        if not isinstance(currency, str) or not currency:
            raise _Err(400, "INVALID_REQUEST_PARAMS", '"price_currency" is required')
        for name in ("ipn_callback_url", "success_url", "cancel_url", "partially_paid_url"):
            url = body.get(name)
            if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                raise _Err(400, "INVALID_REQUEST_PARAMS", f'"{name}" must be a valid uri')
        with self.lock:
            invoice_id = str(next(self._invoice_ids))
            now = _iso(time.time())
            invoice = {
                "id": invoice_id, "token_id": str(secrets.randbelow(9_000_000_000) + 1_000_000_000),
                "order_id": body.get("order_id"), "order_description": body.get("order_description"),
                "price_amount": js_number(price), "price_currency": currency.lower(),
                "pay_currency": body.get("pay_currency"), "ipn_callback_url": body.get("ipn_callback_url"),
                "invoice_url": f"https://nowpayments.io/payment/?iid={invoice_id}",
                "success_url": body.get("success_url"), "cancel_url": body.get("cancel_url"),
                "customer_email": None, "partially_paid_url": body.get("partially_paid_url"), "payout_currency": None,
                "created_at": now, "updated_at": now, "is_fixed_rate": bool(body.get("is_fixed_rate", False)),
                "is_fee_paid_by_user": bool(body.get("is_fee_paid_by_user", False)), "source": None,
                "collect_user_data": False,
            }
            self.invoices[invoice_id] = invoice
            return 201, dict(invoice)

    def _get_payment(self, headers, payment_id: str) -> tuple[int, dict]:
        self._check_key(headers)
        if not re.fullmatch(r"\d+", payment_id):
            raise _Err(400, "INVALID_REQUEST_PARAMS", "Payment id must be a number")
        with self.lock:
            payment = self.payments.get(int(payment_id))
            if payment is None:
                raise _Err(404, "PAYMENT_NOT_FOUND", "Payment not found")
            shown = {k: v for k, v in payment.items() if k not in ("parent_payment_id", "actually_paid_at_fiat", "fee")}
            if payment["parent_payment_id"]:
                shown["parent_payment_id"] = payment["parent_payment_id"]
                shown["origin_type"] = "REPEATED"
            return 200, shown

    def _dispatch(self, method: str, path: str, headers, body) -> tuple[int, dict]:
        if method == "GET" and path == "/v1/status":
            return 200, {"message": "OK"}
        if method == "POST" and path == "/v1/invoice":
            return self._create_invoice(headers, body)
        if method == "GET" and path in ("/v1/payment", "/v1/payment/"):
            self._check_key(headers)
            raise _Err(401, "AUTH_REQUIRED", "Authorization header is empty (Bearer JWTtoken is required)")
        match = re.fullmatch(r"/v1/payment/([^/]+)", path)
        if method == "GET" and match:
            return self._get_payment(headers, match.group(1))
        raise _Err(404, "NOT_FOUND", f"Cannot {method} {path}")

    # -- the server -----------------------------------------------------------------------------
    def _take_fault(self, method: str, target: str) -> str | None:
        with self.lock:
            for fault in self._faults:
                substring, kind, remaining, only = fault
                if remaining > 0 and substring in target and (only is None or only == method):
                    fault[2] -= 1
                    if fault[2] == 0:
                        self._faults.remove(fault)
                    return kind
        return None

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                return

            def version_string(self):
                return "cloudflare"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorded = dict(headers)
                if "x-api-key" in recorded:  # kept only as "right" or "wrong": tests check no key leaks elsewhere
                    recorded["x-api-key"] = "right" if recorded["x-api-key"] == fake.api_key else "wrong"
                call = Call(self.command, split.path, parse_qs(split.query), body, time.monotonic(), headers=recorded)
                self.call = call
                with fake.lock:
                    fake.calls.append(call)
                if fake.down:
                    self._reset()
                    return
                if fake.latency:
                    time.sleep(fake.latency)
                fault = fake._take_fault(self.command, self.path)
                if fault == "drop":
                    self._drop()
                    return
                if fault == "http500":
                    self._json(500, _Err(500, "INTERNAL_ERROR", "Internal server error").body())
                    return
                if fault == "http502":
                    self._raw(502, CLOUDFLARE_502, "text/html")
                    return
                try:
                    status, payload = fake._dispatch(self.command, split.path, headers, body)
                except _Err as exc:
                    status, payload = exc.status, exc.body()
                if fault == "drop_after_act":
                    self._drop()
                    return
                if fault == "timeout_after_act":
                    fake._stopping.wait(fake.hold_seconds)
                    self._drop()
                    return
                self._json(status, payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815

            def _json(self, status, payload):
                self._raw(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

            def _raw(self, status, data: bytes, content_type: str):
                self.call.status = status  # recorded before the client can see the answer
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            _drop = drop

            _reset = reset

        return Handler
