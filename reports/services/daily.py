"""The daily report: yesterday's key figures (local days of the shop's TIME_ZONE) beside the
day before's, and a red line when the ledger does not reconcile. It goes to every admin in
their language, or to the chat or channel REPORTS_DAILY_CHAT_ID in the shop's, through the
message port (the notifications outbox when it is on), once per day (a dedup key with the date)."""

from __future__ import annotations

import html
import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from payments.models import Payment as OnlinePayment
from vpnbot.shop.formatting import money
from vpnbot.transport import messages

from .financial import report_financial
from .periods import calendar_for, day_label, day_range, local_today
from .reconcile import reconcile
from .runs import last_run

log = logging.getLogger(__name__)

KIND = "daily_report"
RUN_FRESH_HOURS = 36  # the nightly run is believed for this long; an older one is redone
AMOUNTS = ("gross_amount", "discount_amount", "net_amount", "refund_amount")


def daily_at() -> tuple[int, int]:
    """REPORTS_DAILY_AT ("HH:MM", the shop's local time) as (hour, minute); 09:00 when unreadable."""
    try:
        hour, minute = (int(part) for part in str(settings.REPORTS_DAILY_AT).strip().split(":"))
    except ValueError:
        return 9, 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return 9, 0
    return hour, minute


def daily_chat_id() -> int | None:
    """REPORTS_DAILY_CHAT_ID as a chat id (a channel's is negative), or None: every admin."""
    chat = str(settings.REPORTS_DAILY_CHAT_ID or "").strip()
    try:
        return int(chat) if chat else None
    except ValueError:
        log.warning("REPORTS_DAILY_CHAT_ID=%r is not a chat id; the daily report goes to the admins", chat)
        return None


def daily_report(*, day: date | None = None, now: datetime | None = None) -> dict:
    """The figures of `day` (default: yesterday, local) and of the day before, and the state of
    the reconciliation (the latest run when it is recent, else a fresh one)."""
    day = day or local_today(now) - timedelta(days=1)
    figures = report_financial(day_range(day, day), with_reconciliation=False)
    before = report_financial(day_range(day - timedelta(days=1), day - timedelta(days=1)), with_reconciliation=False)
    run = last_run()
    if run is not None and run.started_at >= (now or timezone.now()) - timedelta(hours=RUN_FRESH_HOURS):
        ok, problems = run.ok, run.problem_count
    else:
        result = reconcile()
        ok, problems = result.ok, len(result.problems)
    return {"day": day, "figures": figures, "before": before, "reconciled": ok, "problem_count": problems}


def _delta(now: int, before: int) -> str:
    change = now - before
    if not change:
        return _("same as the day before")
    return _("%(change)s vs. the day before") % {"change": f"{change:+,}"}


def daily_text(report: dict) -> str:
    """The report in the active language (HTML for Telegram)."""
    now, before = report["figures"], report["before"]
    labels = {
        "orders": _("Orders"), "new_customers": _("New customers"), "gross_amount": _("Gross sales"),
        "discount_amount": _("Discounts"), "net_amount": _("Net sales"), "refund_amount": _("Refunds to wallets"),
    }
    day = day_label(report["day"], calendar_for(translation.get_language()))
    lines = ["📊 <b>" + html.escape(_("Daily report for %(day)s") % {"day": day}) + "</b>"]
    for key in ("orders", *AMOUNTS):
        value = now[key]
        shown = money(value) if key.endswith("_amount") else f"{value:,}"
        lines.append(html.escape(f"{labels[key]}: {shown} ({_delta(value, before[key])})"))
    names = dict(OnlinePayment.Provider.choices)
    methods = sorted(set(now["topup_amount_by_method"]) | set(before["topup_amount_by_method"]))
    lines.append(html.escape(_("Top-ups: %(amount)s") % {"amount": money(now["topup_amount"])}))
    for method in methods:
        value, earlier = now["topup_amount_by_method"].get(method, 0), before["topup_amount_by_method"].get(method, 0)
        if value or earlier:
            lines.append(html.escape(f"  • {names.get(method, method)}: {money(value)} ({_delta(value, earlier)})"))
    lines.append(html.escape(f"{labels['new_customers']}: {now['new_customers']:,} "
                             f"({_delta(now['new_customers'], before['new_customers'])})"))
    lines.append(html.escape(_("Wallets hold (liability): %(amount)s") % {"amount": money(now["wallet_liability_amount"])}))
    if not report["reconciled"]:
        lines.append("🔴 <b>" + html.escape(_("The ledger does not reconcile (%(n)s failed checks): see Reconciliation "
                                             "runs in the admin.") % {"n": report["problem_count"]}) + "</b>")
    return "\n".join(lines)


def daily_report_send(*, day: date | None = None, now: datetime | None = None) -> dict:
    """Send the daily report (once per day: a second call for the same day sends nothing)."""
    report = daily_report(day=day, now=now)
    key = f"reports-daily:{report['day'].isoformat()}"
    chat_id = daily_chat_id()
    if chat_id is not None:
        with translation.override(messages.chat_language(chat_id)):
            text = daily_text(report)
        messages.notify_chat(chat_id, text, kind=KIND, dedup_key=key, source="reports:daily")
    else:
        messages.notify_admins(lambda: daily_text(report), kind=KIND, dedup_key=key)
    return report
