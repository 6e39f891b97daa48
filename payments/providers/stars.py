"""Telegram Stars (currency XTR, no provider token): an invoice in the chat, Telegram's
pre-checkout question answered at once on the webhook's fast path, the `successful_payment`
message credited once by its `telegram_payment_charge_id`, refunds with refundStarPayment,
and a lost update found again in getStarTransactions.

Nothing here is believed from an unauthenticated source: Stars updates come through the bot's
own webhook (checked by its secret token), and `check` asks Telegram itself.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.transport.sender import TelegramError, get_sender

from .base import PAID, PENDING, REFUNDED, Asked, Confirmation, Opened, Provider, ProviderError

log = logging.getLogger(__name__)
PAYLOAD_PREFIX = "pay:"
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"
# getStarTransactions pages (100 each) a check reads at most. The docs say "chronological order"
# without the direction; the check reads the pages whatever the order, and a payment it cannot
# find stays pending for an admin to look at (Stars' own updates are the usual path).
LOOKBACK_PAGES = 5
CALL_TIMEOUT = 10


def payload_for(payment) -> str:
    return f"{PAYLOAD_PREFIX}{payment.pk}"


def payment_id_from(payload: str) -> int | None:
    if not isinstance(payload, str) or not payload.startswith(PAYLOAD_PREFIX):
        return None
    digits = payload[len(PAYLOAD_PREFIX):]
    return int(digits) if digits.isdigit() and len(digits) <= 12 else None


class Stars(Provider):
    key = "stars"
    currency = "XTR"
    can_refund = True
    link_is_invoice = True

    def enabled(self) -> bool:
        return bool(settings.STARS_ENABLED and settings.TELEGRAM_BOT_TOKEN)

    def label(self) -> str:
        return _("⭐ Telegram Stars")

    def asked(self, *, amount: int, plan=None, quantity: int = 1) -> Asked:
        """A plan with a Stars price: that price per period, with the same discount as in the
        shop's currency; anything else: STARS_PER_UNIT Stars per 1,000, rounded up."""
        if plan is not None and plan.price_stars and plan.price_amount:
            stars = math.ceil(Decimal(plan.price_stars) * amount / plan.price_amount)
        else:
            stars = math.ceil(Decimal(amount) * settings.STARS_PER_UNIT / 1000)
        return Asked(Decimal(max(stars, 1)), self.currency)

    def _invoice(self, payment) -> dict:
        title = (_("%(plan)s × %(n)s") % {"plan": payment.plan.name, "n": payment.quantity} if payment.plan_id
                 else _("Wallet top-up"))[:32]
        description = _("Payment #%(id)s: %(amount)s of %(currency)s") % {
            "id": payment.pk, "amount": f"{payment.amount:,}", "currency": settings.CURRENCY}
        return {"title": title, "description": description[:255], "payload": payload_for(payment),
                "currency": self.currency, "provider_token": "",
                "prices": [{"label": title, "amount": int(payment.provider_amount)}]}

    def _call(self, method: str, params: dict):
        try:
            return get_sender().call(method, params, timeout=CALL_TIMEOUT)
        except TelegramError as exc:
            raise ProviderError(exc.description, retry=exc.status >= 500 or not exc.status) from None

    def start(self, payment) -> Opened:
        """The invoice goes to the customer's chat with the bot."""
        self._call("sendInvoice", {"chat_id": payment.customer.telegram_id, **self._invoice(payment)})
        return Opened(status_detail="invoice sent")

    def start_link(self, payment) -> Opened:
        """An invoice link (createInvoiceLink) for the Mini App's openInvoice: the same invoice,
        the same payload, so the pre-checkout answer and the successful payment go as in the chat."""
        link = self._call("createInvoiceLink", self._invoice(payment))
        if not isinstance(link, str) or not link.startswith("https://"):
            raise ProviderError("createInvoiceLink gave no link", retry=False)
        return Opened(url=link, status_detail="invoice link made")

    def check(self, payment) -> Confirmation:
        """Look for this payment among the bot's Star transactions (a few pages)."""
        wanted = payload_for(payment)
        offset = 0
        for _page in range(LOOKBACK_PAGES):
            try:
                result = get_sender().call("getStarTransactions", {"offset": offset, "limit": 100},
                                           timeout=CALL_TIMEOUT) or {}
            except TelegramError as exc:
                raise ProviderError(exc.description) from None
            transactions = result.get("transactions") or []
            for tx in transactions:
                source = tx.get("source") or {}
                if source.get("type") == "user" and source.get("invoice_payload") == wanted:
                    refunded = any((r.get("receiver") or {}).get("type") == "user"
                                   and r.get("id") == tx.get("id") for r in transactions)
                    return Confirmation(REFUNDED if refunded else PAID, amount=Decimal(tx.get("amount", 0)),
                                        currency=self.currency, provider_payment_id=str(tx.get("id") or "")[:128],
                                        detail="found in getStarTransactions")
            if len(transactions) < 100:
                break
            offset += 100
        return Confirmation(PENDING, detail="not in getStarTransactions")

    def refund(self, payment) -> None:
        try:
            get_sender().call("refundStarPayment", {"user_id": payment.customer.telegram_id,
                                                    "telegram_payment_charge_id": payment.provider_payment_id},
                              timeout=CALL_TIMEOUT)
        except TelegramError as exc:
            if ALREADY_REFUNDED in exc.description:  # an earlier try whose answer was lost did it
                log.info("stars payment %s was already refunded", payment.pk)
                return
            raise ProviderError(exc.description, retry=exc.status >= 500 or not exc.status) from None

    # --- what Telegram sends -----------------------------------------------------------------------

    @staticmethod
    def confirmation_of(successful_payment: dict) -> Confirmation:
        return Confirmation(PAID, amount=Decimal(int(successful_payment.get("total_amount") or 0)),
                            currency=str(successful_payment.get("currency") or ""),
                            provider_payment_id=str(successful_payment.get("telegram_payment_charge_id") or "")[:128]
                            or None, detail="successful_payment")
