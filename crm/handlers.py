"""The CRM in the bot: /my_profile, /my_offers, /my_insights for customers; /crm_dashboard,
/user_analytics, /create_campaign, /campaign_stats, /at_risk_users for admins."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from vpnbot.shop import services as shop_services
from vpnbot.shop.services import format_date, money
from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext, add_callback, add_command

from . import selectors, services
from .models import Campaign, PersonalizedOffer, Segment
from .services import CrmError

log = logging.getLogger(__name__)
AT_RISK_PAGE = 8


def _esc(text) -> str:
    return escape(str(text or ""))


_PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def _whole_number(text: str, *, max_digits: int = 12) -> int | None:
    """A whole number in Latin or Persian digits, else None ("²".isdigit() is true, yet int("²") fails)."""
    digits = (text or "").strip().translate(_PERSIAN_DIGITS)
    if digits.isascii() and digits.isdigit() and len(digits) <= max_digits:
        return int(digits)
    return None


def segment_label(key: str) -> str:
    return str(dict(Segment.choices).get(key, key))


def _off(ctx: BotContext) -> bool:
    if settings.ENABLE_CRM:
        return False
    if ctx.callback:
        ctx.answer(_("The CRM is switched off."), alert=True)
    else:
        ctx.reply(_("This feature is switched off."))
    return True


# --- customers --------------------------------------------------------------------------------

def my_profile(ctx: BotContext) -> None:
    if _off(ctx):
        return
    profile = services.profile_for(ctx.customer)
    lines = [_("👤 Your profile"),
             _("Member since: %(date)s") % {"date": format_date(ctx.customer.joined_at, ctx.customer)}]
    if profile is None or profile.frequency == 0:
        lines.append(_("No purchases yet. See /plans to start."))
        ctx.reply("\n".join(lines), parse_mode=None)
        return
    lines += [
        _("Orders: %(n)s · Total spent: %(amount)s") % {"n": profile.frequency, "amount": money(profile.monetary_amount)},
        _("Average order: %(amount)s") % {"amount": money(profile.average_order_amount)},
    ]
    if profile.favourite_plan:
        lines.append(_("Favourite plan: %(plan)s") % {"plan": profile.favourite_plan.name})
    if profile.active_until:
        lines.append(_("Active until: %(date)s") % {"date": format_date(profile.active_until, ctx.customer)})
    if profile.segment == Segment.VIP:
        lines.append(_("⭐ You are one of our VIP customers."))
    offers = services.offers_for(customer=ctx.customer)
    if offers:
        lines.append(_("🎁 You have %(n)s offer(s): /my_offers") % {"n": len(offers)})
    ctx.reply("\n".join(lines), parse_mode=None)


def offer_line(offer: PersonalizedOffer, customer) -> str:
    until = format_date(offer.valid_until, customer)
    percent = f"{offer.percent_bp / 100:g}"
    if offer.kind == PersonalizedOffer.Kind.VIP_CASHBACK:
        return _("💎 %(percent)s%% cashback on your purchases until %(date)s") % {"percent": percent, "date": until}
    return _("🎟 %(percent)s%% off with code %(code)s, until %(date)s") % {"percent": percent, "code": offer.code,
                                                                         "date": until}


def my_offers(ctx: BotContext) -> None:
    if _off(ctx):
        return
    offers = services.offers_for(customer=ctx.customer)
    if not offers:
        ctx.reply(_("You have no offers right now. We will let you know when one comes."))
        return
    lines, buttons = [_("🎁 Your offers:")], []
    for offer in offers:
        lines.append(offer_line(offer, ctx.customer))
        action = services.offer_buy_action(offer)
        if action:
            buttons.append([(_("🛒 Buy %(plan)s with %(code)s") % {"plan": offer.plan.name, "code": offer.code}, action)])
        elif offer.code:
            lines.append(_("To use it, send /buy %(code)s and choose a plan.") % {"code": offer.code})
    ctx.reply("\n".join(lines), buttons=buttons or None, parse_mode=None)


def my_insights(ctx: BotContext) -> None:
    if _off(ctx):
        return
    insights = services.insights_for(customer=ctx.customer, limit=5)
    if not insights:
        ctx.reply(_("Nothing to tell you yet. Check back after a purchase or two."))
        return
    ctx.reply("\n".join([_("💡 About you:")] + ["• " + services.insight_text(i) for i in insights]), parse_mode=None)


def campaign_pressed(ctx: BotContext) -> None:
    if _off(ctx):  # nothing recorded while the CRM is off
        return
    match = re.match(r"^crm:c:(\d{1,12})$", ctx.callback_data)
    recipient = services.recipient_press(recipient_id=int(match.group(1)), customer=ctx.customer) if match else None
    if recipient is None:
        ctx.answer(_("This button is no longer valid."), alert=True)
        return
    ctx.answer()
    offer = recipient.offer
    if offer and offer.status == PersonalizedOffer.Status.ACTIVE and offer.valid_until > timezone.now():
        action = services.offer_buy_action(offer)
        if action:
            ctx.reply(offer_line(offer, ctx.customer), buttons=[[(_("🛒 Buy %(plan)s") % {"plan": offer.plan.name}, action)]],
                      parse_mode=None)
        else:
            ctx.reply(offer_line(offer, ctx.customer) + "\n" + _("To use it, send /buy %(code)s and choose a plan.")
                      % {"code": offer.code}, parse_mode=None)
        return
    ctx.reply(_("See our plans with /plans."), parse_mode=None)


# --- admins -----------------------------------------------------------------------------------

def _change(now: int, before: int | None) -> str:
    if before is None:
        return ""
    diff = now - before
    return f" ({diff:+d})" if diff else " (±0)"


def dashboard_chart(counts: dict[str, int]) -> bytes:
    """A bar chart of the segment sizes as PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    keys = [k for k in Segment.values if counts.get(k)] or list(Segment.values)
    fig = Figure(figsize=(7, 3.5), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar([str(k) for k in keys], [counts.get(k, 0) for k in keys], color="#3b82f6")
    ax.set_title("Customers by segment")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def crm_dashboard(ctx: BotContext) -> None:
    if _off(ctx):
        return
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
    shop_facts = services.insights_shop(limit=3)
    if shop_facts:
        lines += ["💡 " + services.insight_text(i) for i in shop_facts]
    text = "\n".join(lines)
    from vpnbot.transport.sender import TelegramError, get_sender

    try:
        get_sender().send_photo(ctx.chat_id, ("crm.png", dashboard_chart(counts)), caption=text)
    except TelegramError:
        log.warning("crm dashboard chart not sent")
        ctx.reply(text, parse_mode=None)


def user_analytics(ctx: BotContext) -> None:
    if _off(ctx):
        return
    if not ctx.args:
        ctx.reply(_("Usage: /user_analytics <telegram id or @username>"), parse_mode=None)
        return
    customer = shop_services.customer_find(ctx.args[0])
    if customer is None:
        ctx.reply(_("No customer %(who)s.") % {"who": ctx.args[0][:64]}, parse_mode=None)
        return
    profile = services.profile_for(customer)
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
    facts = services.insights_for(customer=customer, limit=5)
    if facts:
        lines.append(_("Insights: %(list)s") % {"list": "; ".join(services.admin_insight_text(i) for i in facts)})
    steps = selectors.journey(customer=customer, limit=8)
    if steps:
        lines.append(_("Journey:"))
        lines += [f"  {format_date(s.at, ctx.customer)}  {s.get_from_stage_display()} → {s.get_stage_display()}"
                  for s in steps]
    activities = services.activity_timeline(customer=customer, limit=10)
    if activities:
        lines.append(_("Recent activity:"))
        lines += [f"  {format_date(a.created_at, ctx.customer)}  {a.get_kind_display()} {a.ref}"
                  + (f" {a.amount:,}" if a.amount else "") for a in activities]
    ctx.reply("\n".join(lines)[:4000], parse_mode=None)


def _page_number(text: str) -> int | None:
    """A page number as typed: whole, possibly signed (-1, +2), Latin or Persian digits."""
    text = (text or "").strip().translate(_PERSIAN_DIGITS)
    sign = -1 if text[:1] in ("-", "−") else 1
    number = _whole_number(text[1:] if text[:1] in ("-", "−", "+") else text, max_digits=9)
    return None if number is None else sign * number


def at_risk_users(ctx: BotContext, page: int | None = None) -> None:
    """/at_risk_users [page]: pages count from 1; one out of range shows the first or last page."""
    if _off(ctx):
        return
    if page is None:
        page = 0
        if ctx.args:
            number = _page_number(ctx.args[0])
            if number is None:
                ctx.reply(_("Usage: /at_risk_users [page number]"), parse_mode=None)
                return
            page = number - 1
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


def at_risk_page(ctx: BotContext) -> None:
    match = re.match(r"^crm:ar:(\d{1,6})$", ctx.callback_data)
    at_risk_users(ctx, page=int(match.group(1)) if match else 0)


def send_winback(ctx: BotContext) -> None:
    if _off(ctx):
        return
    match = re.match(r"^crm:wb:(\d{1,12})$", ctx.callback_data)
    from vpnbot.shop.models import Customer

    customer = Customer.objects.filter(pk=int(match.group(1))).first() if match else None
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


def campaign_stats_text(campaign: Campaign) -> str:
    stats = services.campaign_stats(campaign=campaign)
    return _("📣 #%(id)s %(name)s — %(status)s\nTargeted %(targeted)s · sent %(sent)s · pending %(pending)s · "
             "failed %(failed)s · blocked %(blocked)s\nPressed %(pressed)s · converted %(converted)s "
             "(within %(days)s days) · revenue %(revenue)s") % {
        "id": campaign.pk, "name": campaign.name, "status": campaign.get_status_display(), "days": campaign.conversion_days,
        "targeted": stats.targeted, "sent": stats.sent, "pending": stats.pending, "failed": stats.failed,
        "blocked": stats.blocked, "pressed": stats.pressed, "converted": stats.converted,
        "revenue": money(stats.revenue_amount)}


def campaign_stats(ctx: BotContext) -> None:
    if _off(ctx):
        return
    if ctx.args:
        campaign_id = _whole_number(ctx.args[0])
        if campaign_id is None:
            ctx.reply(_("Usage: /campaign_stats [campaign id]"), parse_mode=None)
            return
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            ctx.reply(_("No campaign #%(id)s.") % {"id": campaign_id}, parse_mode=None)
            return
        ctx.reply(campaign_stats_text(campaign), parse_mode=None)
        return
    campaigns = list(Campaign.objects.order_by("-id")[:5])
    if not campaigns:
        ctx.reply(_("No campaigns yet. Create one with /create_campaign."))
        return
    ctx.reply("\n\n".join(campaign_stats_text(c) for c in campaigns), parse_mode=None)


# --- /create_campaign: segments → text → offer → preview and confirmation ------------------------

def create_campaign(ctx: BotContext) -> None:
    if _off(ctx):
        return
    counts = selectors.segment_counts()
    dialog.dialog_start(user_id=ctx.user_id, name="crm_campaign_segments")
    lines = [_("📣 New campaign, step 1 of 3: who should receive it?"),
             _("Send segment names separated by commas, or 'all' for everyone:")]
    lines += [f"• {key} — {segment_label(key)} ({counts[key]})" for key in Segment.values]
    lines.append("/cancel")
    ctx.reply("\n".join(lines), parse_mode=None)


def _admin_only_step(ctx: BotContext) -> bool:
    if ctx.is_admin and settings.ENABLE_CRM:
        return True
    dialog.dialog_clear(user_id=ctx.user_id)
    return False


@dialog.step("crm_campaign_segments")
def campaign_segments_step(ctx: BotContext, data: dict) -> None:
    if not _admin_only_step(ctx):
        return
    text = (ctx.text or "").strip()
    try:
        segments = [] if text.lower() in ("all", "همه") else services.validate_segments(text)
        if text.lower() not in ("all", "همه") and not segments:
            raise CrmError(_("Send at least one segment name, or 'all'."))
    except CrmError as exc:
        ctx.reply(str(exc), parse_mode=None)
        return
    dialog.dialog_start(user_id=ctx.user_id, name="crm_campaign_text", data={"segments": segments})
    ctx.reply(_("Step 2 of 3: send the message text. Placeholders: {first_name}, {code}, {percent}, {valid_until}.\n"
                "/cancel"), parse_mode=None)


@dialog.step("crm_campaign_text")
def campaign_text_step(ctx: BotContext, data: dict) -> None:
    if not _admin_only_step(ctx):
        return
    try:
        text = services.campaigns.validate_text(ctx.text or "")
    except CrmError as exc:
        ctx.reply(str(exc), parse_mode=None)
        return
    dialog.dialog_start(user_id=ctx.user_id, name="crm_campaign_offer", data={**data, "text": text})
    ctx.reply(_("Step 3 of 3: attach a single-use discount code? Send the percent (for example 15), or 0 for none."),
              parse_mode=None)


@dialog.step("crm_campaign_offer")
def campaign_offer_step(ctx: BotContext, data: dict) -> None:
    if not _admin_only_step(ctx):
        return
    percent = _whole_number((ctx.text or "").strip().rstrip("%٪"), max_digits=3)
    if percent is None or not 0 <= percent <= 90:
        ctx.reply(_("Send a whole percent between 0 and 90."), parse_mode=None)
        return
    by = f"@{ctx.user.username}" if ctx.user.username else f"tg:{ctx.user_id}"
    try:
        campaign = services.campaign_create(
            name=_("Bot campaign %(date)s") % {"date": timezone.now().strftime("%Y-%m-%d %H:%M")},
            text=data["text"], segments=data.get("segments") or [], offer_percent_bp=percent * 100, created_by=by)
    except CrmError as exc:
        dialog.dialog_clear(user_id=ctx.user_id)
        ctx.reply(str(exc), parse_mode=None)
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    count = services.campaign_count(campaign)
    preview = services.campaign_render(campaign, ctx.customer)
    segments = ", ".join(segment_label(s) for s in campaign.segments) or _("everyone")
    lines = [_("Preview of campaign #%(id)s:") % {"id": campaign.pk}, "", preview, "",
             _("Audience: %(segments)s") % {"segments": segments}]
    if campaign.offer_percent_bp:
        lines.append(_("Each recipient gets a single-use %(percent)s%% code valid %(hours)s hours.") % {
            "percent": campaign.offer_percent_bp // 100, "hours": campaign.offer_valid_hours})
    if not count:
        lines.append(_("Nobody matches this audience right now, so there is nothing to send."))
        ctx.reply("\n".join(lines), buttons=[[(_("✖️ Discard"), f"crm:cx:{campaign.pk}")]], parse_mode=None)
        return
    lines.append(_("Send it now to %(n)s customers?") % {"n": count})
    ctx.reply("\n".join(lines), parse_mode=None, buttons=[
        [(_("✅ Send to %(n)s customers") % {"n": count}, f"crm:cs:{campaign.pk}")],
        [(_("✖️ Discard"), f"crm:cx:{campaign.pk}")]])


def campaign_confirm(ctx: BotContext) -> None:
    if _off(ctx):
        return
    match = re.match(r"^crm:(cs|cx):(\d{1,12})$", ctx.callback_data)
    campaign = Campaign.objects.filter(pk=int(match.group(2))).first() if match else None
    if campaign is None:
        ctx.answer(_("This campaign does not exist."), alert=True)
        return
    if match.group(1) == "cx":
        if services.campaign_cancel(campaign_id=campaign.pk):
            ctx.edit(_("Campaign #%(id)s discarded.") % {"id": campaign.pk}, parse_mode=None)
        else:
            ctx.answer(_("This campaign is already %(status)s.") % {"status": campaign.get_status_display()}, alert=True)
        return
    try:
        services.campaign_start(campaign_id=campaign.pk)
    except CrmError as exc:
        ctx.answer(str(exc), alert=True)
        return
    ctx.answer()
    ctx.edit(_("📣 Campaign #%(id)s is being sent. See /campaign_stats %(id)s.") % {"id": campaign.pk}, parse_mode=None)


def register(application) -> None:
    add_command(application, "my_profile", my_profile)
    add_command(application, "my_offers", my_offers)
    add_command(application, "my_insights", my_insights)
    add_command(application, "crm_dashboard", crm_dashboard, admin=True)
    add_command(application, "user_analytics", user_analytics, admin=True)
    add_command(application, "create_campaign", create_campaign, admin=True)
    add_command(application, "campaign_stats", campaign_stats, admin=True)
    add_command(application, "at_risk_users", at_risk_users, admin=True)
    add_callback(application, r"^crm:c:", campaign_pressed)
    add_callback(application, r"^crm:ar:", at_risk_page, admin=True)
    add_callback(application, r"^crm:wb:", send_winback, admin=True)
    add_callback(application, r"^crm:c[sx]:", campaign_confirm, admin=True)
