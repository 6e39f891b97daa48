"""The admins' daily summary: what the risk checks held or flagged yesterday, what operators
decided, and the money held back (what it saved)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop.formatting import money
from vpnbot.transport import messages

from ..models import Ban, RiskCase, RiskDecision


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), zone)
    return start, start + timedelta(days=1)


def risk_summary(*, day: date | None = None) -> dict:
    """Yesterday (the shop's time zone) unless day is given: cases opened by subject and status,
    the money at stake in held cases and in holds operators confirmed, bans."""
    day = day or (timezone.localdate() - timedelta(days=1))
    start, end = _day_bounds(day)
    opened = RiskCase.objects.filter(created_at__gte=start, created_at__lt=end)
    by_status = dict(opened.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_subject = dict(opened.exclude(status=RiskCase.Status.ALLOWED).values_list("subject")
                      .annotate(n=Count("id")).values_list("subject", "n"))
    held_ever = RiskDecision.objects.filter(at__gte=start, at__lt=end, by="rules", action=RiskCase.Status.HELD)
    saved = (RiskCase.objects.filter(decided_at__gte=start, decided_at__lt=end, status=RiskCase.Status.CONFIRMED)
             .aggregate(s=Sum("amount"))["s"] or 0)
    held_amount = (RiskCase.objects.filter(pk__in=held_ever.values("case_id")).aggregate(s=Sum("amount"))["s"] or 0)
    return {
        "day": day, "by_status": by_status, "by_subject": by_subject, "held": held_ever.count(),
        "flagged": by_status.get(RiskCase.Status.FLAGGED, 0), "held_amount": held_amount, "saved": saved,
        "open_held": RiskCase.objects.filter(status=RiskCase.Status.HELD).count(),
        "bans": Ban.objects.filter(Q(created_at__gte=start, created_at__lt=end)).count(),
    }


def risk_summary_send(*, day: date | None = None) -> dict:
    """Tell the admins, once per day (the message port's dedup key)."""
    summary = risk_summary(day=day)
    labels = dict(RiskCase.Subject.choices)

    def text():
        lines = [_("🛡 Risk checks on %(day)s") % {"day": summary["day"].isoformat()},
                 _("Held: %(held)s (%(amount)s at stake); flagged: %(flagged)s.") % {
                     "held": summary["held"], "amount": money(summary["held_amount"]), "flagged": summary["flagged"]}]
        for subject, n in sorted(summary["by_subject"].items()):
            lines.append(f"• {labels.get(subject, subject)}: {n}")
        lines.append(_("Holds confirmed by operators: %(amount)s kept from going out.") % {"amount": money(summary["saved"])})
        if summary["bans"]:
            lines.append(_("Customers banned: %(n)s.") % {"n": summary["bans"]})
        if summary["open_held"]:
            lines.append(_("⚠️ %(n)s held case(s) wait for an operator (Risk cases in the admin).") % {
                "n": summary["open_held"]})
        return "\n".join(lines)

    messages.notify_admins(text, kind="risk_summary", dedup_key=f"risk-summary:{summary['day'].isoformat()}")
    return summary
