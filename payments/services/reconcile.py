"""Reconciliation (a lost callback is the normal case): payments still pending a while after
they started are checked with their provider, and the abandoned ones expire. Also the
admins' daily summary per provider, and the card receipts mirrored into the one list."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop.formatting import money
from vpnbot.shop.models import Payment as Receipt
from vpnbot.transport import messages

from ..models import Payment
from .core import PaymentsError, payment_check, timeline_add

log = logging.getLogger(__name__)
BATCH = 200
# A provider that did not answer this many checks in a row is asked no more in this run (each
# check already retried and waited PAYMENTS_TIMEOUT); and no check starts after RUN_BUDGET
# seconds, so a slow provider's run ends before the next one starts (every 5 minutes).
SILENT_AFTER = 3
RUN_BUDGET = 240


@dataclass
class Reconciled:
    checked: int = 0
    credited: int = 0
    held: int = 0
    expired: int = 0
    errors: list[str] = field(default_factory=list)


def payments_reconcile(*, now: datetime | None = None) -> Reconciled:
    """Check every online payment pending for PAYMENTS_CHECK_AFTER_MINUTES with its provider
    (oldest first, BATCH at most per run); expire those still unpaid after PAYMENTS_EXPIRE_HOURS.
    A provider that does not answer (SILENT_AFTER checks in a row) is skipped until the next run
    (its payments stay pending), and so is whatever is left after RUN_BUDGET seconds."""
    now = now or timezone.now()
    result = Reconciled()
    due = list(Payment.objects.filter(status=Payment.Status.PENDING,
                                      created_at__lte=now - timedelta(minutes=settings.PAYMENTS_CHECK_AFTER_MINUTES))
               .exclude(provider=Payment.Provider.CARD).order_by("created_at").values_list("pk", "provider", "created_at")[:BATCH])
    expire_before = now - timedelta(hours=settings.PAYMENTS_EXPIRE_HOURS)
    unanswered: dict[str, int] = {}  # per provider, the checks in a row it did not answer
    started = time.monotonic()
    for payment_id, provider, created_at in due:
        if unanswered.get(provider, 0) >= SILENT_AFTER:
            continue  # down: its payments wait for the next run
        if time.monotonic() - started > RUN_BUDGET:
            log.warning("payments reconciliation stopped after %ss: the rest waits for the next run", RUN_BUDGET)
            break
        result.checked += 1
        try:
            applied = payment_check(payment_id=payment_id, via="reconciliation")
        except PaymentsError as exc:
            result.errors.append(f"#{payment_id}: {exc}")
            unanswered[provider] = unanswered.get(provider, 0) + 1 if exc.retry else 0
            continue
        except Exception as exc:  # one payment's failure must not stop every later one's, run after run
            log.exception("payment %s not reconciled", payment_id)
            result.errors.append(f"#{payment_id}: {type(exc).__name__}")
            continue
        unanswered[provider] = 0
        status = applied.payment.status
        result.credited += applied.credited
        result.held += status == Payment.Status.HELD and applied.changed
        if status == Payment.Status.PENDING and created_at <= expire_before:
            result.expired += payment_expire(payment_id=payment_id)
    if result.checked:
        log.info("payments reconciled: %s", result)
    return result


def payment_expire(*, payment_id: int) -> int:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status != Payment.Status.PENDING:
            return 0
        payment.status = Payment.Status.EXPIRED
        timeline_add(payment, "expired", _("not paid within %(hours)s hours") % {"hours": settings.PAYMENTS_EXPIRE_HOURS})
        payment.save()
    return 1


# --- the admins' daily summary -------------------------------------------------------------------

def payments_summary(*, day: date | None = None) -> dict:
    """Per provider, yesterday's (or `day`'s) paid count and amount, and what waits for an admin."""
    tz = timezone.get_current_timezone()
    day = day or (timezone.localtime(timezone.now(), tz).date() - timedelta(days=1))
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    rows = (Payment.objects.filter(paid_at__gte=start, paid_at__lt=start + timedelta(days=1))
            .values("provider").annotate(n=Count("pk"), total=Sum("amount")).order_by("provider"))
    return {"day": day, "paid": {r["provider"]: (r["n"], r["total"] or 0) for r in rows},
            "held": Payment.objects.filter(status=Payment.Status.HELD).count(),
            "pending": Payment.objects.filter(status=Payment.Status.PENDING).count()}


def payments_summary_send(*, day: date | None = None) -> dict:
    """Tell the admins yesterday's payments per provider, once per day (the outbox's dedup)."""
    summary = payments_summary(day=day)
    labels = dict(Payment.Provider.choices)

    def text():
        lines = [_("💳 Payments on %(day)s") % {"day": summary["day"].isoformat()}]
        for key, (n, total) in summary["paid"].items():
            lines.append(_("%(provider)s: %(n)s paid, %(amount)s") % {"provider": labels.get(key, key), "n": n,
                                                                     "amount": money(total)})
        if not summary["paid"]:
            lines.append(_("No payments."))
        if summary["held"]:
            lines.append(_("⚠️ %(n)s held, waiting for an admin (Payments in the admin).") % {"n": summary["held"]})
        return "\n".join(lines)

    messages.notify_admins(text, kind="payments_summary", dedup_key=f"payments-summary:{summary['day'].isoformat()}")
    return summary


# --- card receipts in the one list ------------------------------------------------------------------

RECEIPT_STATUS = {Receipt.Status.PENDING: Payment.Status.PENDING, Receipt.Status.APPROVED: Payment.Status.PAID,
                  Receipt.Status.REJECTED: Payment.Status.REFUSED}


def receipt_mirror(*, receipt_id: int) -> Payment | None:
    """The card receipt (a shop top-up) as a row of the payments list: created when it is
    submitted, its status following the admin's review. Runs in the shop's transaction."""
    receipt = Receipt.objects.filter(pk=receipt_id).first()
    if receipt is None:
        return None
    status = RECEIPT_STATUS[receipt.status]
    payment, created = Payment.objects.get_or_create(
        receipt=receipt, defaults={"provider": Payment.Provider.CARD, "provider_payment_id": f"receipt:{receipt.pk}",
                                   "customer_id": receipt.customer_id, "amount": receipt.amount, "currency": settings.CURRENCY[:8],
                                   "provider_amount": receipt.amount, "status": status,
                                   "created_at": receipt.created_at,
                                   "timeline": [{"at": receipt.created_at.isoformat(timespec="seconds"),
                                                 "event": "receipt submitted"}]})
    if not created and payment.status != status:
        payment.status = status
        payment.decided_by = receipt.reviewer
        payment.note = receipt.reason
        payment.paid_at = receipt.reviewed_at if status == Payment.Status.PAID else None
        timeline_add(payment, status, receipt.reviewer)
        payment.save()
    return payment
