"""A banned customer's online payments: frozen while the ban holds (recorded, never credited nor
lost), back on their normal path when it is lifted."""

from __future__ import annotations

from django.utils import timezone

from vpnbot.shop import risk

from ..models import Payment
from .core import _credit, _hold, _risk, risk_why, timeline_add


def payments_freeze(*, customer_id: int, why: str) -> int:
    """The customer is banned: their pending online payments are marked frozen (still pending,
    so money that arrives is recorded, and then held by the risk checks, never credited nor
    lost). Runs in the ban's transaction. Returns how many were marked."""
    frozen = 0
    for payment in (Payment.objects.select_for_update().filter(customer_id=customer_id, status=Payment.Status.PENDING)
                    .exclude(provider=Payment.Provider.CARD).order_by("pk")):
        payment.risk_action, payment.risk_score = risk.FREEZE, 100
        payment.risk_reasons = [str(why)[:300]]
        timeline_add(payment, "frozen", str(why))
        payment.save(update_fields=["risk_action", "risk_score", "risk_reasons", "timeline", "updated_at"])
        frozen += 1
    return frozen


def payments_unfreeze(*, customer_id: int) -> int:
    """The ban is lifted: each frozen payment goes back to its normal path. A pending one waits
    for its money as before; one paid while the ban held it is scored again and credited (once:
    under its row lock, and the ledger's unique source) unless the risk checks still hold it."""
    released = 0
    now = timezone.now()
    for payment in (Payment.objects.select_for_update().select_related("customer")
                    .filter(customer_id=customer_id, risk_action=risk.FREEZE,
                            status__in=(Payment.Status.PENDING, Payment.Status.HELD)).order_by("pk")):
        timeline_add(payment, "unfrozen")
        if payment.status == Payment.Status.PENDING:
            payment.risk_action, payment.risk_score, payment.risk_reasons = risk.ALLOW, 0, []
            payment.save(update_fields=["risk_action", "risk_score", "risk_reasons", "timeline", "updated_at"])
        else:
            verdict = _risk(payment)
            if verdict.held:
                _hold(payment, risk_why(verdict), verdict=verdict)
            else:
                payment.note = ""
                _credit(payment, now)
        released += 1
    return released
