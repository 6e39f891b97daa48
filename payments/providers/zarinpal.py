"""Zarinpal (REST v4): a payment request gives an authority and the StartPay link the customer
pays at; the gateway sends the customer's browser back to /payments/zarinpal/callback/ with
``Authority`` and ``Status``; only the server-to-server ``verify`` says a payment is paid.

* Amounts are asked in Rial, always, with ``currency: "IRR"`` sent explicitly (Zarinpal also
  takes "IRT", Toman; the shop does not depend on the gateway's default): the shop's amount
  times ZARINPAL_RIALS_PER_UNIT (10 when the shop counts in Toman, 1 in Rial).
* ``verify`` with the amount we asked: 100 = verified now, 101 = verified before (so a verify
  repeated by the callback, the reconciliation or an admin is harmless), -50 = the amount does
  not match (held for an admin), -51 = not paid: the customer may still be at the bank, so
  ``inquiry`` tells IN_BANK / PAID (still pending) from FAILED / REVERSED (failed).
  Zarinpal checked the amount itself, so a PAID confirmation carries ``amount=None``.
* Every call here is safe to repeat (an orphan authority is harmless, a second verify says 101,
  inquiry only reads): connection failures before an answer and 5xx answers are retried
  PAYMENTS_MAX_RETRIES times; a timeout is not (the caller, often a customer's browser on the
  callback page, has waited long enough: the reconciliation asks again later).
* The merchant id is a secret: it is sent in the body only, never logged or put in an error.
  The card number comes masked from Zarinpal; only its last four digits are kept.

Sources and the gateway's exact answers: tests/fakes/zarinpal.py (its docstring).
"""

from __future__ import annotations

import logging
import re
import time
from decimal import Decimal

import httpx
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from .base import FAILED, HOLD, PAID, PENDING, Asked, Confirmation, Opened, Provider, ProviderError

log = logging.getLogger(__name__)

REAL_URL = "https://payment.zarinpal.com"
SANDBOX_URL = "https://sandbox.zarinpal.com"
API_PATH = "/pg/v4/payment/"
START_PAY_PATH = "/pg/StartPay/"

VERIFIED_NOW, VERIFIED_BEFORE = 100, 101
AMOUNT_MISMATCH = -50  # "Session is not valid, amounts values is not the same."
NOT_PAID = -51  # "Session is not valid, session is not active paid try."
INVALID_AUTHORITY = -54  # "Invalid authority." (unknown to Zarinpal, or archived)
RETRY_LATER = {-12, -52}  # too many attempts; "Oops!!, please contact our support team"
INQUIRY_FAILED = {"FAILED", "REVERSED"}  # nothing was paid, or it went back to the customer
AUTHORITY = re.compile(r"^[A-Za-z0-9]{1,64}$")
BACKOFF = 0.25  # seconds before the first retry, doubled after each


class ZarinpalError(ProviderError):
    """Zarinpal answered with an error code (``errors.code``)."""

    def __init__(self, what: str, code, message: str):
        self.code = code if isinstance(code, int) and not isinstance(code, bool) else None
        super().__init__(f"Zarinpal {what}: {code} {message}".strip()[:300], retry=self.code in RETRY_LATER)


def base_url() -> str:
    """ZARINPAL_API_URL when set (a test server, a proxy), else the real or the sandbox host;
    the API and the StartPay page live on the same host (the official SDK does the same)."""
    if settings.ZARINPAL_API_URL:
        return settings.ZARINPAL_API_URL.rstrip("/")
    return SANDBOX_URL if settings.ZARINPAL_SANDBOX else REAL_URL


def start_pay_url(authority: str) -> str:
    return f"{base_url()}{START_PAY_PATH}{authority}"


def callback_url() -> str:
    if not settings.PUBLIC_BASE_URL:
        raise ProviderError("PUBLIC_BASE_URL is not set: Zarinpal could not send the customer back", retry=False)
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('payments-zarinpal-callback')}"


def rials(payment) -> int:
    """What Zarinpal is asked, in Rial: the amount stored when the payment started (never
    recomputed, so a changed ZARINPAL_RIALS_PER_UNIT does not break a verify)."""
    return int(payment.provider_amount)


def _card(data: dict) -> str:
    digits = re.sub(r"\D", "", str(data.get("card_pan") or ""))
    return f", card …{digits[-4:]}" if len(digits) >= 4 else ""


class Zarinpal(Provider):
    key = "zarinpal"
    currency = "IRR"

    def enabled(self) -> bool:
        return bool(settings.ZARINPAL_MERCHANT_ID)

    def label(self) -> str:
        return _("💳 Zarinpal (Iranian cards)")

    def asked(self, *, amount: int, plan=None, quantity: int = 1) -> Asked:
        # Rial, explicitly: the shop's amount (Toman by default) × Rials per unit
        return Asked(Decimal(amount) * settings.ZARINPAL_RIALS_PER_UNIT, self.currency)

    # --- start ----------------------------------------------------------------------------------

    def start(self, payment) -> Opened:
        if payment.plan_id:
            description = _("Payment #%(id)s: %(plan)s × %(n)s") % {"id": payment.pk, "plan": payment.plan.name,
                                                                   "n": payment.quantity}
        else:
            description = _("Payment #%(id)s: wallet top-up") % {"id": payment.pk}
        data = self._call("request", {
            "merchant_id": settings.ZARINPAL_MERCHANT_ID,
            "amount": rials(payment),
            "currency": self.currency,  # Rial, said explicitly
            "callback_url": callback_url(),
            "description": description[:500],
            "metadata": {"order_id": str(payment.pk)},
        })
        authority = data.get("authority")
        if data.get("code") != VERIFIED_NOW or not isinstance(authority, str) or not AUTHORITY.match(authority):
            raise ProviderError(f"Zarinpal request: unexpected answer (code {data.get('code')!r})", retry=False)
        log.info("zarinpal payment %s opened: authority %s, %s IRR", payment.pk, authority, rials(payment))
        return Opened(provider_payment_id=authority, url=start_pay_url(authority), status_detail="requested")

    # --- verify ---------------------------------------------------------------------------------

    def verify(self, payment) -> Confirmation:
        """Where the payment stands, from Zarinpal itself (the callback's and the
        reconciliation's question). Raises ProviderError when Zarinpal cannot be asked."""
        authority = payment.provider_payment_id
        if not authority:
            return Confirmation(FAILED, detail="never opened at Zarinpal")
        try:
            data = self._call("verify", {"merchant_id": settings.ZARINPAL_MERCHANT_ID, "amount": rials(payment),
                                         "authority": authority})
        except ZarinpalError as exc:
            if exc.code == NOT_PAID:
                return self._not_paid(payment)
            if exc.code == AMOUNT_MISMATCH:
                log.warning("zarinpal payment %s: verify says the amount differs (-50), %s IRR asked", payment.pk,
                            rials(payment))
                return Confirmation(HOLD, detail=f"Zarinpal -50: the amount paid is not the {rials(payment):,} IRR "
                                                 "asked")
            if exc.code == INVALID_AUTHORITY:
                return Confirmation(FAILED, detail="-54 invalid authority")
            raise
        code = data.get("code")
        if code not in (VERIFIED_NOW, VERIFIED_BEFORE):
            raise ProviderError(f"Zarinpal verify: unexpected answer (code {code!r})", retry=False)
        ref_id = str(data.get("ref_id") or "?")[:20]
        log.info("zarinpal payment %s verified (%s): ref_id %s%s", payment.pk, code, ref_id, _card(data))
        # amount None: Zarinpal compared the amount we sent with the amount paid (else -50)
        return Confirmation(PAID, amount=None, currency=self.currency, detail=f"{code} ref_id {ref_id}{_card(data)}")

    def check(self, payment) -> Confirmation:
        return self.verify(payment)  # verify is idempotent: 101 when it was verified before

    def _not_paid(self, payment) -> Confirmation:
        """-51: not paid yet, or never. The customer may still be at the bank (a verify before
        they come back), so only inquiry's FAILED / REVERSED close the payment."""
        try:
            data = self._call("inquiry", {"merchant_id": settings.ZARINPAL_MERCHANT_ID,
                                          "authority": payment.provider_payment_id})
        except ProviderError as exc:
            log.info("zarinpal payment %s: not paid (-51), inquiry unavailable: %s", payment.pk, exc)
            return Confirmation(PENDING, detail="-51 not paid yet")
        status = str(data.get("status") or "?")[:16]
        if status in INQUIRY_FAILED:
            return Confirmation(FAILED, detail=f"-51 not paid, {status}")
        return Confirmation(PENDING, detail=f"-51 not paid yet, {status}")  # IN_BANK; PAID: verified next time

    # --- HTTP -----------------------------------------------------------------------------------

    def _call(self, name: str, body: dict) -> dict:
        """POST {base}/pg/v4/payment/{name}.json; the answer's `data`, or ZarinpalError for its
        `errors` (whatever the HTTP status: the status of an error answer is not documented)."""
        url = f"{base_url()}{API_PATH}{name}.json"
        retries = max(0, settings.PAYMENTS_MAX_RETRIES)
        for attempt in range(retries + 1):
            last = attempt == retries
            try:
                response = httpx.post(url, json=body, timeout=settings.PAYMENTS_TIMEOUT,
                                      headers={"Accept": "application/json"})
            except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                problem = f"Zarinpal {name}: could not connect ({type(exc).__name__})"
            except httpx.TimeoutException:
                raise ProviderError(f"Zarinpal {name}: no answer within {settings.PAYMENTS_TIMEOUT:g}s") from None
            except httpx.TransportError as exc:  # refused, reset, closed before an answer
                problem = f"Zarinpal {name}: {type(exc).__name__}"
            else:
                if response.status_code < 500:
                    return self._read(name, response)
                problem = f"Zarinpal {name}: HTTP {response.status_code}"
            if last:
                raise ProviderError(problem, retry=True)
            log.info("%s; trying again (%s of %s)", problem, attempt + 1, retries)
            time.sleep(BACKOFF * 2**attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _read(name: str, response: httpx.Response) -> dict:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            raise ProviderError(f"Zarinpal {name}: HTTP {status}, not JSON", retry=status == 429) from None
        if not isinstance(payload, dict):
            raise ProviderError(f"Zarinpal {name}: HTTP {status}, unexpected JSON", retry=False)
        errors, data = payload.get("errors"), payload.get("data")
        if isinstance(errors, dict) and errors:
            fields = ", ".join(sorted(k for v in errors.get("validations") or [] if isinstance(v, dict) for k in v))
            message = str(errors.get("message") or "")[:150] + (f" ({fields})" if fields else "")
            raise ZarinpalError(name, errors.get("code"), message)
        if isinstance(data, dict) and data and status < 300:
            return data
        raise ProviderError(f"Zarinpal {name}: HTTP {status}, an answer without data or errors", retry=status == 429)
