"""NowPayments (crypto): an invoice priced in USD, paid in the coin the customer picks on
NowPayments' page; its IPNs verified by HMAC-SHA512 with the IPN secret; the status ladder
mapped to the shop's confirmations.

The API (docs/payments.md, tests/fakes/nowpayments.py for the sources):

* ``POST /v1/invoice`` (header ``x-api-key``) makes the invoice: ``id`` and ``invoice_url``.
  The invoice id is the payment's ``provider_payment_id``; ``order_id`` is ``pay-<pk>``.
* The customer picks a coin on the page: that makes a NowPayments *payment* (its own
  ``payment_id``) for the invoice, and every change of its status is POSTed as an IPN to
  ``ipn_callback_url``, signed in ``x-nowpayments-sig``.
* ``GET /v1/payment/{payment_id}`` (the key) says where a payment stands. The payments of an
  invoice can be listed only with a dashboard login (a JWT from email and password), which
  the shop does not have: so the payment id is learnt from the first IPN (kept in
  ``status_detail`` as ``<status> #<payment_id>``) and polled from then on. A payment for
  which no IPN ever came cannot be asked about: the reconciliation expires it after
  PAYMENTS_EXPIRE_HOURS, and an IPN that still comes later still credits it.

Nothing is believed unsigned: the IPN's signature is checked before anything is looked up,
and ``check`` asks NowPayments itself with the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import time
from decimal import ROUND_UP, Decimal, InvalidOperation

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from .base import (
    EXPIRED,
    FAILED,
    HOLD,
    PAID,
    PENDING,
    REFUNDED,
    Asked,
    Confirmation,
    Opened,
    Provider,
    ProviderError,
    Unverified,
)

log = logging.getLogger(__name__)

ORDER_PREFIX = "pay-"
IPN_PATH = "/payments/nowpayments/ipn/"
MIN_USD = Decimal("0.01")  # no fixed minimum is documented: each coin has its own, shown on the invoice page
CENT = Decimal("0.01")
RETRY_PAUSE = 0.25  # seconds, times the attempt number
WAITING = ("waiting", "confirming", "confirmed", "sending")
_KNOWN_ID = re.compile(r"([a-z_]+) #(\d{1,20})\b")  # the start of every detail confirmation_of writes
_KNOWN_ID_LOGGED = re.compile(r"[\w-]+: ([a-z_]+) #(\d{1,20})\b")  # the same in the timeline, after "<via>: "
_SIGNATURE = re.compile(r"[0-9a-fA-F]{128}")


def order_id_for(payment) -> str:
    return f"{ORDER_PREFIX}{payment.pk}"


def payment_pk_from_order(order_id) -> int | None:
    if not isinstance(order_id, str) or not order_id.startswith(ORDER_PREFIX):
        return None
    digits = order_id[len(ORDER_PREFIX):]
    return int(digits) if digits.isdigit() and len(digits) <= 12 else None


def id_text(value) -> str | None:
    """An id NowPayments sends as a number or as a string of digits, as text; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        return value
    return None


def known_payment_id(payment) -> str | None:
    """NowPayments' payment id for this invoice, learnt from an IPN (or a check): the
    ``<status> #<digits>`` the provider's status starts with, else the newest in the timeline."""
    found = _KNOWN_ID.match(payment.status_detail or "")
    if found:
        return found.group(2)
    for entry in reversed(payment.timeline or []):
        found = _KNOWN_ID_LOGGED.match(str(entry.get("detail", "")) if isinstance(entry, dict) else "")
        if found:
            return found.group(2)
    return None


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _plain(value) -> str:
    number = _decimal(value)
    return "?" if number is None else f"{number.normalize():f}"


# --- the IPN's signature -------------------------------------------------------------------------

class MalformedIPN(ValueError):
    """The body is not a JSON object: it cannot even be checked."""


def _js_number(value) -> str:
    """How JavaScript prints a number (NowPayments signs with Node's JSON.stringify)."""
    if isinstance(value, int) and abs(value) <= 2**53:
        return str(value)
    value = float(value)
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    _sign, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = exponent + len(text)  # value = 0.<text> x 10**point
    if len(text) <= point <= 21:
        shown = text + "0" * (point - len(text))
    elif 0 < point <= 21:
        shown = f"{text[:point]}.{text[point:]}"
    elif -6 < point <= 0:
        shown = "0." + "0" * -point + text
    else:
        power = point - 1
        shown = (text if len(text) == 1 else f"{text[0]}.{text[1:]}") + ("e+" if power >= 0 else "e-") + str(abs(power))
    return ("-" if value < 0 else "") + shown


def _node_sorted(value) -> str:
    """JSON.stringify(sortObject(value)), as in NowPayments' Node example: keys sorted at every
    level, compact, non-ASCII as is, numbers as JavaScript prints them."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_node_sorted(value[k])}"
                              for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_node_sorted(v) for v in value) + "]"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _js_number(value)


def _python_sorted(value) -> str:
    """NowPayments' Python example: json.dumps(message, separators=(',', ':'), sort_keys=True)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def verify_ipn(body: bytes, signature: str, secret: str) -> dict:
    """The IPN's data when ``signature`` (x-nowpayments-sig) is the HMAC-SHA512, keyed with the
    IPN secret, of the body sorted by keys; Unverified otherwise, MalformedIPN when the body
    is not a JSON object. Both canonical forms of NowPayments' own examples are accepted
    (Node's and Python's: they differ on tiny numbers and non-ASCII text)."""
    signature = (signature or "").strip()
    if not _SIGNATURE.fullmatch(signature):
        raise Unverified("no x-nowpayments-sig header, or not a hex SHA-512" if not signature
                         else "x-nowpayments-sig is not a hex SHA-512")
    if not secret:
        raise Unverified("NOWPAYMENTS_IPN_SECRET is not set")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedIPN("the body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedIPN("the body is not a JSON object")
    key = secret.strip().encode()
    given = signature.lower().encode()
    for canonical in (_node_sorted, _python_sorted):
        expected = hmac.new(key, canonical(data).encode(), hashlib.sha512).hexdigest().encode()
        if hmac.compare_digest(expected, given):
            return data
    raise Unverified("x-nowpayments-sig does not match the body")


# --- what a payment's status says ------------------------------------------------------------------

def confirmation_of(data: dict) -> Confirmation:
    """A NowPayments payment (an IPN's body or GET /v1/payment/{id}) as a Confirmation.
    Every detail starts with ``<status> #<payment_id>``: how the payment id is kept."""
    status = str(data.get("payment_status") or "")[:20]
    payment_id = id_text(data.get("payment_id")) or "?"
    tag = f"{status} #{payment_id}"
    paid = (f"{_plain(data.get('actually_paid'))} of {_plain(data.get('pay_amount'))} "
            f"{str(data.get('pay_currency') or '').upper()[:12]}")
    parent = id_text(data.get("parent_payment_id"))
    if parent and status in ("finished", "partially_paid"):
        # a repeated or wrong-asset deposit: NowPayments advises never to deliver on it unchecked
        return Confirmation(HOLD, detail=f"{tag}: a repeated deposit of #{parent}, paid {paid}")
    if status in WAITING or parent:
        return Confirmation(PENDING, detail=tag)
    if status == "finished":
        amount = _decimal(data.get("price_amount"))
        currency = str(data.get("price_currency") or "").upper()[:8]
        if amount is None or not currency:
            return Confirmation(HOLD, detail=f"{tag}: no price in the answer, paid {paid}")
        return Confirmation(PAID, amount=amount, currency=currency, detail=tag)
    if status == "partially_paid":
        return Confirmation(HOLD, detail=f"{tag}: paid {paid}")
    if status == "failed":
        return Confirmation(FAILED, detail=tag)
    if status == "expired":
        return Confirmation(EXPIRED, detail=tag)
    if status == "refunded":
        return Confirmation(REFUNDED, detail=tag)
    return Confirmation(PENDING, detail=tag)  # a status we do not know moves nothing


# --- the provider ------------------------------------------------------------------------------------

class NowPayments(Provider):
    key = "nowpayments"
    currency = "USD"

    def enabled(self) -> bool:
        return bool(settings.NOWPAYMENTS_API_KEY and settings.NOWPAYMENTS_IPN_SECRET and settings.NOWPAYMENTS_RATE > 0)

    def label(self) -> str:
        return _("🪙 Crypto (NowPayments)")

    def asked(self, *, amount: int, plan=None, quantity: int = 1) -> Asked:
        """``amount`` of the shop's currency in USD at NOWPAYMENTS_RATE, rounded up to the cent."""
        rate = Decimal(settings.NOWPAYMENTS_RATE)
        if rate <= 0:
            raise ProviderError("NOWPAYMENTS_RATE is not set", retry=False)
        usd = (Decimal(amount) / rate).quantize(CENT, rounding=ROUND_UP)
        return Asked(max(usd, MIN_USD), self.currency)

    def start(self, payment) -> Opened:
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        if not base:
            raise ProviderError("PUBLIC_BASE_URL is not set: NowPayments could not send its IPN", retry=False)
        what = (f"plan {payment.plan_id} x {payment.quantity}" if payment.plan_id else "wallet top-up")
        body = {"price_amount": float(payment.provider_amount), "price_currency": "usd",
                "order_id": order_id_for(payment),
                # ASCII only: the description comes back in every IPN, inside what is signed
                "order_description": f"Payment #{payment.pk}: {what}",
                "ipn_callback_url": f"{base}{IPN_PATH}"}
        data = self._json(self._call("POST", "/v1/invoice", json=body), "POST /v1/invoice")
        invoice_id, url = id_text(data.get("id")), data.get("invoice_url")
        if not invoice_id or not isinstance(url, str) or not url.startswith("https://"):
            raise ProviderError("NowPayments answered an invoice without an id or a link")
        return Opened(provider_payment_id=invoice_id, url=url, status_detail="invoice created")

    def check(self, payment) -> Confirmation:
        """Ask for the payment an IPN told of; without one there is nothing to ask (the list of an
        invoice's payments needs a dashboard login) and the payment stays as it is."""
        payment_id = known_payment_id(payment)
        if payment_id is None:
            return Confirmation(PENDING)
        data = self._json(self._call("GET", f"/v1/payment/{payment_id}"), "GET /v1/payment")
        if id_text(data.get("invoice_id")) != payment.provider_payment_id:
            raise ProviderError(f"NowPayments payment #{payment_id} is not of invoice {payment.provider_payment_id}",
                                retry=False)
        return confirmation_of(data)

    # --- HTTP ----------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One call, tried again (PAYMENTS_MAX_RETRIES attempts in all) on a network error or a
        5xx: a second invoice made by a retry is harmless (nobody has its link). Errors name the
        path and the answer, never the key."""
        attempts = max(1, settings.PAYMENTS_MAX_RETRIES)
        what = f"NowPayments {method} {path}"
        problem = ""
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                time.sleep(RETRY_PAUSE * (attempt - 1))
            try:
                with httpx.Client(base_url=settings.NOWPAYMENTS_API_URL, timeout=settings.PAYMENTS_TIMEOUT,
                                  follow_redirects=False,
                                  headers={"x-api-key": settings.NOWPAYMENTS_API_KEY,
                                           "User-Agent": "vpn-shop-bot"}) as client:
                    response = client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                problem = f"{what}: {type(exc).__name__}"
                log.warning("%s (attempt %s of %s)", problem, attempt, attempts)
                continue
            if response.status_code >= 500:
                problem = f"{what}: HTTP {response.status_code}"
                log.warning("%s (attempt %s of %s)", problem, attempt, attempts)
                continue
            if response.status_code >= 400:
                raise ProviderError(f"{what}: HTTP {response.status_code} {_error_text(response)}",
                                    retry=response.status_code == 429)
            return response
        raise ProviderError(problem, retry=True)

    @staticmethod
    def _json(response: httpx.Response, what: str) -> dict:
        try:
            data = response.json()
        except ValueError:
            raise ProviderError(f"NowPayments {what}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise ProviderError(f"NowPayments {what}: the answer is not a JSON object")
        return data


def _error_text(response: httpx.Response) -> str:
    """NowPayments' error body: {"status": false, "statusCode", "code", "message"}."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:100]
    if not isinstance(data, dict):
        return str(data)[:100]
    return " ".join(str(data[k]) for k in ("code", "message") if data.get(k))[:200]
