"""/create_campaign, the admins' guided campaign: segments → text → offer → a preview with
"Send to N customers" (crm:cs:<id>) or "Discard" (crm:cx:<id>)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core.numbers import parse_whole_number
from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext

from .. import selectors, services
from ..models import Segment
from ..services import CrmError
from .common import CRM, segment_label

EVERYONE = ("all", "همه")


def create_campaign(ctx: BotContext) -> None:
    counts = selectors.segment_counts()
    dialog.dialog_start(user_id=ctx.user_id, name="crm_campaign_segments")
    lines = [_("📣 New campaign, step 1 of 3: who should receive it?"),
             _("Send segment names separated by commas, or 'all' for everyone:")]
    lines += [f"• {key} — {segment_label(key)} ({counts[key]})" for key in Segment.values]
    lines.append("/cancel")
    ctx.reply("\n".join(lines), parse_mode=None)


def _admin_only_step(ctx: BotContext) -> bool:
    """A dialog step runs for an admin while the CRM is on; anyone else's dialog ends."""
    if ctx.is_admin and CRM.enabled():
        return True
    dialog.dialog_clear(user_id=ctx.user_id)
    return False


@dialog.step("crm_campaign_segments")
def campaign_segments_step(ctx: BotContext, data: dict) -> None:
    if not _admin_only_step(ctx):
        return
    text = (ctx.text or "").strip()
    try:
        segments = [] if text.lower() in EVERYONE else services.validate_segments(text)
        if text.lower() not in EVERYONE and not segments:
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
        text = services.validate_text(ctx.text or "")
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
    percent = parse_whole_number((ctx.text or "").strip().rstrip("%٪"), max_digits=3)
    if percent is None or not 0 <= percent <= 90:
        ctx.reply(_("Send a whole percent between 0 and 90."), parse_mode=None)
        return
    try:
        campaign = services.campaign_create(
            name=_("Bot campaign %(date)s") % {"date": timezone.now().strftime("%Y-%m-%d %H:%M")},
            text=data["text"], segments=data.get("segments") or [], offer_percent_bp=percent * 100,
            created_by=ctx.actor)
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


def campaign_send(ctx: BotContext) -> None:
    """crm:cs:<campaign id>: the preview's "Send to N customers"."""
    campaign = selectors.campaign_get(int(ctx.match.group(1)))
    if campaign is None:
        ctx.answer(_("This campaign does not exist."), alert=True)
        return
    try:
        services.campaign_start(campaign_id=campaign.pk)
    except CrmError as exc:
        ctx.answer(str(exc), alert=True)
        return
    ctx.answer()
    ctx.edit(_("📣 Campaign #%(id)s is being sent. See /campaign_stats %(id)s.") % {"id": campaign.pk}, parse_mode=None)


def campaign_discard(ctx: BotContext) -> None:
    """crm:cx:<campaign id>: the preview's "Discard"."""
    campaign = selectors.campaign_get(int(ctx.match.group(1)))
    if campaign is None:
        ctx.answer(_("This campaign does not exist."), alert=True)
        return
    if services.campaign_cancel(campaign_id=campaign.pk):
        ctx.edit(_("Campaign #%(id)s discarded.") % {"id": campaign.pk}, parse_mode=None)
    else:
        ctx.answer(_("This campaign is already %(status)s.") % {"status": campaign.get_status_display()}, alert=True)
