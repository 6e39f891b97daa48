"""/financial_report [today|week|month|YYYY-MM|FROM TO] for the admins: a chart of the period's
net sales and orders with the key figures as its caption, then the rest of the money report
(discounts by kind, refunds, cashback, referral rewards, top-ups by method, liability, buyers,
and whether the period's rows reconcile)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from discounts.models import SmartDiscount
from payments.models import Payment as OnlinePayment
from vpnbot.shop.formatting import format_date, money
from vpnbot.transport.bot import BotContext, Feature, add_command
from vpnbot.transport.messages import TelegramError

from .charts import financial_chart
from .services import PeriodError, calendar_for, period_parse, report_financial, series
from .services.financial import RESELLER_OR_OTHER

log = logging.getLogger(__name__)
USAGE = "/financial_report [today|week|month|YYYY-MM|FROM TO]"
CAPTION_LIMIT = 1024  # Telegram's limit on a photo's caption
SHOWN_PROBLEMS = 5


REPORTS = Feature.setting("ENABLE_REPORTS", off_text=lambda: _("This feature is switched off."))


def financial_report(ctx: BotContext) -> None:
    try:
        period = period_parse(" ".join(ctx.args), calendar=calendar_for(ctx.language))
    except PeriodError as exc:
        ctx.reply("\n".join([str(exc), _("Usage: %(usage)s") % {"usage": USAGE},
                             _("For example: /financial_report month, /financial_report 1405-09, "
                               "/financial_report 2026-11-01 2026-11-15")]), parse_mode=None)
        return
    report = report_financial(period)
    caption = caption_text(report)
    currency = settings.CURRENCY
    try:
        ctx.reply_photo(("financial_report.png", financial_chart(series(period), label=report["label"],
                                                                 currency=currency)), caption=caption)
    except TelegramError:
        log.warning("financial report chart not sent")
        ctx.reply(caption, parse_mode=None)
    ctx.reply(details_text(report, ctx.customer), parse_mode=None)


def caption_text(report: dict) -> str:
    """The key figures, under the chart (at most CAPTION_LIMIT characters)."""
    lines = [
        _("📊 Financial report: %(period)s") % {"period": report["label"]},
        _("Net sales: %(amount)s") % {"amount": money(report["net_amount"])},
        _("Orders: %(n)s · average %(amount)s") % {"n": report["orders"], "amount": money(report["average_order_amount"])},
        _("List price: %(gross)s · discounts −%(discount)s") % {
            "gross": money(report["gross_amount"]), "discount": money(report["discount_amount"])},
        _("Top-ups: %(amount)s (%(n)s)") % {"amount": money(report["topup_amount"]), "n": report["topups"]},
        _("Refunds: %(amount)s") % {"amount": money(report["refund_amount"])},
        _("New customers: %(n)s") % {"n": report["new_customers"]},
    ]
    text = "\n".join(lines)
    return text if len(text) <= CAPTION_LIMIT else text[:CAPTION_LIMIT - 1] + "…"


def _discount_kind(kind: str) -> str:
    if kind == RESELLER_OR_OTHER:
        return _("other (reseller prices, adjustments)")
    return str(SmartDiscount.Kind(kind).label) if kind in SmartDiscount.Kind.values else kind


def _method(method: str) -> str:
    return str(OnlinePayment.Provider(method).label) if method in OnlinePayment.Provider.values else _("other")


def details_text(report: dict, customer=None) -> str:
    """Everything the caption leaves out."""
    lines = [_("🧾 Details: %(period)s") % {"period": report["label"]}, "", _("Discounts by kind:")]
    kinds = report["discount_amount_by_kind"]
    lines += [f"• {_discount_kind(kind)}: {money(amount)}" for kind, amount in kinds.items()] or ["• " + _("none")]
    lines += [
        "",
        _("Refunds to wallets: %(amount)s") % {"amount": money(report["refund_amount"])},
        _("Refunds to payment providers: %(amount)s") % {"amount": money(report["refund_to_provider_amount"])},
        _("Cashback paid: %(paid)s · reversed: %(reversed)s · pending at the end: %(pending)s") % {
            "paid": money(report["cashback_paid_amount"]), "reversed": money(report["cashback_reversed_amount"]),
            "pending": money(report["cashback_pending_amount"])},
        _("Referral rewards: %(amount)s") % {"amount": money(report["referral_reward_amount"])},
    ]
    if report["commission_amount"]:
        lines.append(_("Reseller commissions: %(amount)s") % {"amount": money(report["commission_amount"])})
    lines += ["", _("Top-ups by method:")]
    lines += [f"• {_method(method)}: {money(amount)}" for method, amount in report["topup_amount_by_method"].items()]
    lines += [
        "",
        _("Wallet liability at the end: %(amount)s") % {"amount": money(report["wallet_liability_amount"])},
        _("Buyers: %(n)s (new %(new)s, returning %(returning)s)") % {
            "n": report["buyers"], "new": report["new_buyers"], "returning": report["returning_buyers"]},
        "",
        *reconciliation_lines(report["reconciliation"], customer),
    ]
    return "\n".join(lines)


def reconciliation_lines(result: dict, customer=None) -> list[str]:
    if result["scope"] == "all":  # a big period: the latest full run's verdict, with its time
        at = format_date(datetime.fromisoformat(result["checked_at"]), customer)
        lines = [_("The latest full reconciliation, %(at)s:") % {"at": at}]
        if result["ok"]:
            return [*lines, _("✅ The whole ledger reconciles.")]
        return [*lines, *_problem_lines(result["problems"])]
    if result["ok"]:
        return [_("✅ The period's ledger rows reconcile.")]
    return _problem_lines(result["problems"])


def _problem_lines(problems: list[dict]) -> list[str]:
    lines = [_("⚠️ The ledger does not reconcile: %(n)s problems.") % {"n": len(problems)}]
    lines += [f"• {p['message']} ({p['count']})" for p in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(_("… and %(n)s more.") % {"n": len(problems) - SHOWN_PROBLEMS})
    lines.append(_("manage.py reconcile lists every row."))
    return lines


def register(application) -> None:
    add_command(application, "financial_report", financial_report, admin=True, feature=REPORTS)
