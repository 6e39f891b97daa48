"""Read-only queries of the anti-fraud (the admin, the API and the summary read through these)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Ban, RiskCase, RiskDecision


def cases(*, status: str = "", subject: str = "", customer_id: int | None = None) -> QuerySet[RiskCase]:
    qs = RiskCase.objects.select_related("customer").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if subject:
        qs = qs.filter(subject=subject)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs


def customer_history(customer_id: int) -> QuerySet[RiskDecision]:
    return RiskDecision.objects.filter(customer_id=customer_id).select_related("case").order_by("-at", "-id")


def ban_active(customer_id: int) -> Ban | None:
    return Ban.objects.filter(customer_id=customer_id, lifted_at__isnull=True).first()
