"""The CRM's admin commands: /crm_dashboard (text and chart), /user_analytics, /at_risk_users
with its pages and win-back buttons, and /campaign_stats."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.core.numbers import latin_digits, parse_whole_number
from vpnbot.shop import selectors as shop_selectors
from vpnbot.shop.formatting import format_date, money
from vpnbot.transport.bot import BotContext
from vpnbot.transport.messages import TelegramError

from .. import selectors, services
from ..models import Campaign, Segment
from ..services import CrmError
from .common import segment_label

log = logging.getLogger(__name__)
AT_RISK_PAGE = 8


# --- /crm_dashboard ------------------------------------------------------------------------------

def _change(now: int, before: int | None) -> str:
    if before is None:
        return ""
    diff = now - before
    return f" ({diff:+d})" if diff else " (±0)"


def crm_dashboard(ctx: BotContext) -> None:
    counts = selectors.segment_counts()
    before = selectors.segment_counts_before(days=7)
    funnel = selectors.funnel()
    run = selectors.last_run()
    lines = [_("📊 CRM dashboard")]
    if run:
        lines.append(_("Profiles computed %(date)s") % {"date": format_date(run.as_of, ctx.customer)})
    else:
        lines.append(_("Profiles have not been computed yet (the recompute runs every %(n)s s).")
                     % {"n": settings.CRM_UPDATE_INTERVAL})
    lines.append(_("Segments (change since last week):"))
    for key in Segment.values:
        lines.append(f"• {segment_label(key)}: {counts[key]}{_change(counts[key], before.get(key) if before else None)}")
    lines += [
        _("Revenue: 7 days %(week)s · 30 days %(month)s") % {"week": money(selectors.revenue(days=7)),
                                                            "month": money(selectors.revenue(days=30))},
        _("Churn rate: %(rate)s%%") % {"rate": f"{selectors.churn_rate_bp() / 100:.1f}"},
        _("Funnel: %(v)s joined → %(f)s bought → %(r)s bought again → %(l)s loyal") % {
            "v": funnel["visitors"], "f": funnel["first_purchase"], "r": funnel["repeat"], "l": funnel["loyal"]},
    ]
    shop_facts = selectors.insights_shop(limit=3)
    if shop_facts:
        lines += ["💡 " + services.insight_text(i) for i in shop_facts]
    text = "\n".join(lines)
    try:
        ctx.reply_photo(("crm.png", selectors.dashboard_chart(counts)), caption=text)
    except TelegramError:
        log.warning("crm dashboard chart not sent")
        ctx.reply(text, parse_mode=None)


# --- /user_analytics -------------------------------------------------------------------------------

def user_analytics(ctx: BotContext) -> None:
    if not ctx.args:
        ctx.reply(_("Usage: /user_analytics <telegram id or @username>"), parse_mode=None)
        return
    customer = shop_selectors.customer_find(ctx.args[0])
    if customer is None:
        ctx.reply(_("No customer %(who)s.") % {"who": ctx.args[0][:64]}, parse_mode=None)
        return
    profile = selectors.profile_for(customer)
    lines = [_("👤 %(customer)s (id %(id)s), joined %(date)s") % {
        "customer": customer, "id": customer.telegram_id, "date": format_date(customer.joined_at, ctx.customer)}]
    if profile:
        lines += [
            _("Segment: %(segment)s · stage: %(stage)s · RFM %(rfm)s · churn risk %(risk)s/100") % {
                "segment": segment_label(profile.segment), "stage": profile.get_stage_display(), "rfm": profile.rfm,
                "risk": profile.churn_risk},
            _("Orders %(n)s · spent %(amount)s · average %(avg)s") % {
                "n": profile.frequency, "amount": money(profile.monetary_amount),
                "avg": money(profile.average_order_amount)},
        ]
        if profile.recency_days is not None:
            lines.append(_("Last order %(days)s days ago") % {"days": profile.recency_days})
        if profile.avg_days_between_orders is not None:
            lines.append(_("Buys every %(days)s days on average") % {"days": profile.avg_days_between_orders})
        if profile.favourite_plan:
            lines.append(_("Favourite plan: %(plan)s") % {"plan": profile.favourite_plan.name})
        if profile.active_until:
            lines.append(_("Active until %(date)s") % {"date": format_date(profile.active_until, ctx.customer)})
    else:
        lines.append(_("No profile yet (computed by the next recompute)."))
    facts = selectors.insights_for(customer=customer, limit=5)
    if facts:
        lines.append(_("Insights: %(list)s") % {"list": "; ".join(services.admin_insight_text(i) for i in facts)})
    steps = selectors.journey(customer=customer, limit=8)
    if steps:
        lines.append(_("Journey:"))
        lines += [f"  {format_date(s.at, ctx.customer)}  {s.get_from_stage_display()} → {s.get_stage_display()}"
                  for s in steps]
    activities = selectors.activity_timeline(customer=customer, limit=10)
    if activities:
        lines.append(_("Recent activity:"))
        lines += [f"  {format_date(a.created_at, ctx.customer)}  {a.get_kind_display()} {a.ref}"
                  + (f" {a.amount:,}" if a.amount else "") for a in activities]
    ctx.reply("\n".join(lines)[:4000], parse_mode=None)


# --- /at_risk_users and its buttons ------------------------------------------------------------------

def _page_number(text: str) -> int | None:
    """A page number as typed: whole, possibly signed (-1, +2), Latin or Persian digits."""
    text = latin_digits(text).strip()
    sign = -1 if text[:1] in ("-", "−") else 1
    number = parse_whole_number(text[1:] if text[:1] in ("-", "−", "+") else text, max_digits=9)
    return None if number is None else sign * number


def at_risk_users(ctx: BotContext) -> None:
    """/at_risk_users [page]: pages count from 1; one out of range shows the first or last page."""
    page = 0
    if ctx.args:
        number = _page_number(ctx.args[0])
        if number is None:
            ctx.reply(_("Usage: /at_risk_users [page number]"), parse_mode=None)
            return
        page = number - 1
    _show_at_risk(ctx, page)


def at_risk_page(ctx: BotContext) -> None:
    """crm:ar:<page from 0>: the list's ◀️/▶️ buttons edit the message in place."""
    _show_at_risk(ctx, int(ctx.match.group(1)))


def _show_at_risk(ctx: BotContext, page: int) -> None:
    total = selectors.at_risk_count()
    if not total:
        ctx.reply(_("No customers are at risk right now. 🎉"))
        return
    pages = (total + AT_RISK_PAGE - 1) // AT_RISK_PAGE
    page = min(max(page, 0), pages - 1)
    rows, total = selectors.at_risk_page(page=page, size=AT_RISK_PAGE)
    if not total:  # the last ones left the segment meanwhile
        ctx.reply(_("No customers are at risk right now. 🎉"))
        return
    lines = [_("⚠️ At-risk customers: %(n)s (page %(page)s/%(pages)s)") % {"n": total, "page": page + 1, "pages": pages}]
    buttons = []
    for profile in rows:
        until = format_date(profile.active_until, ctx.customer) if profile.active_until else _("expired")
        lines.append(_("• %(customer)s — risk %(risk)s, service until %(until)s, spent %(amount)s") % {
            "customer": profile.customer, "risk": profile.churn_risk, "until": until,
            "amount": money(profile.monetary_amount)})
        buttons.append([(_("🎁 Win-back offer for %(customer)s") % {"customer": str(profile.customer)[:30]},
                         f"crm:wb:{profile.customer_id}")])
    nav = []
    if page > 0:
        nav.append((_("◀️ Previous"), f"crm:ar:{page - 1}"))
    if page + 1 < pages:
        nav.append((_("Next ▶️"), f"crm:ar:{page + 1}"))
    if nav:
        buttons.append(nav)
    if ctx.callback:
        ctx.edit("\n".join(lines), buttons=buttons, parse_mode=None)
    else:
        ctx.reply("\n".join(lines), buttons=buttons, parse_mode=None)


def send_winback(ctx: BotContext) -> None:
    """crm:wb:<customer id>: a renewal or win-back code for that customer, once per episode."""
    customer = selectors.customer_get(int(ctx.match.group(1)))
    if customer is None:
        ctx.answer(_("This customer does not exist."), alert=True)
        return
    try:
        offer, created = services.offer_send_winback(customer=customer)
    except CrmError as exc:
        ctx.answer(str(exc), alert=True)
        return
    if created:
        ctx.answer(_("Offer %(code)s sent to %(customer)s.") % {"code": offer.code, "customer": customer}, alert=True)
    else:
        ctx.answer(_("%(customer)s already has this offer (%(code)s).") % {"code": offer.code, "customer": customer},
                   alert=True)


# --- /campaign_stats -----------------------------------------------------------------------------------

def campaign_stats_text(campaign: Campaign) -> str:
    stats = selectors.campaign_stats(campaign=campaign)
    return _("📣 #%(id)s %(name)s — %(status)s\nTargeted %(targeted)s · sent %(sent)s · pending %(pending)s · "
             "failed %(failed)s · blocked %(blocked)s\nPressed %(pressed)s · converted %(converted)s "
             "(within %(days)s days) · revenue %(revenue)s") % {
        "id": campaign.pk, "name": campaign.name, "status": campaign.get_status_display(), "days": campaign.conversion_days,
        "targeted": stats.targeted, "sent": stats.sent, "pending": stats.pending, "failed": stats.failed,
        "blocked": stats.blocked, "pressed": stats.pressed, "converted": stats.converted,
        "revenue": money(stats.revenue_amount)}


def campaign_stats(ctx: BotContext) -> None:
    if ctx.args:
        campaign_id = parse_whole_number(ctx.args[0])
        if campaign_id is None:
            ctx.reply(_("Usage: /campaign_stats [campaign id]"), parse_mode=None)
            return
        campaign = selectors.campaign_get(campaign_id)
        if campaign is None:
            ctx.reply(_("No campaign #%(id)s.") % {"id": campaign_id}, parse_mode=None)
            return
        ctx.reply(campaign_stats_text(campaign), parse_mode=None)
        return
    campaigns = selectors.campaigns_latest(limit=5)
    if not campaigns:
        ctx.reply(_("No campaigns yet. Create one with /create_campaign."))
        return
    ctx.reply("\n\n".join(campaign_stats_text(c) for c in campaigns), parse_mode=None)
