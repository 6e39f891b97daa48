"""The admins' list of smart discounts (/list_smart_discounts) with its buttons, one handler
per shape: a page, pause, resume, delete and its confirmation; and /smart_discount_stats."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop.formatting import money
from vpnbot.transport.bot import BotContext
from vpnbot.transport.messages import TelegramError

from .. import parsing, selectors, services
from ..services import DiscountError, Kind

PAGE_SIZE = 5
# disc:<action>:<discount id>[:<page of the list to go back to>]
TARGET = r"(\d{1,9})(?::(\d{1,6}))?$"


def _list_page(page: int) -> tuple[str, list]:
    total = selectors.discount_count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    items = selectors.discount_page(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    if not items:
        return _("No smart discounts yet. Add one with /add_smart_discount."), []
    lines = [_("Smart discounts (page %(page)s of %(pages)s):") % {"page": page, "pages": pages}]
    buttons = []
    for d in items:
        value = services.value_text(d) if d.kind != Kind.BULK else _("tiers")
        limit = "∞" if d.max_uses is None else d.max_uses
        status = d.get_status_display()
        lines.append(f"#{d.pk} {services.discount_label(d)} — {value} — {status} — {d.used_count}/{limit}")
        toggle = (f"⏸ #{d.pk}", f"disc:pause:{d.pk}:{page}") if d.status == "active" else (f"▶️ #{d.pk}", f"disc:resume:{d.pk}:{page}")
        buttons.append([toggle, (f"🗑 #{d.pk}", f"disc:del:{d.pk}:{page}")])
    nav = []
    if page > 1:
        nav.append(("◀️", f"disc:ls:{page - 1}"))
    if page < pages:
        nav.append(("▶️", f"disc:ls:{page + 1}"))
    if nav:
        buttons.append(nav)
    return "\n".join(lines), buttons


def _show_page(ctx: BotContext, page: int) -> None:
    text, buttons = _list_page(page)
    ctx.edit(text, buttons=buttons or None, parse_mode=None)


def _target(ctx: BotContext) -> tuple[int, int]:
    """(discount id, page) of a button made with TARGET."""
    return int(ctx.match.group(1)), int(ctx.match.group(2) or 1)


def list_smart_discounts(ctx: BotContext) -> None:
    page = parsing.parse_page(ctx.args[0]) if ctx.args else 1
    text, buttons = _list_page(page)
    ctx.reply(text, buttons=buttons or None, parse_mode=None)


def page_pressed(ctx: BotContext) -> None:
    """disc:ls:<page>"""
    _show_page(ctx, int(ctx.match.group(1)))


def _set_status(ctx: BotContext, status: str, done: str) -> None:
    number, page = _target(ctx)
    try:
        services.discount_set_status(discount_id=number, status=status)
        ctx.answer(done)
    except DiscountError as exc:
        ctx.answer(str(exc), alert=True)
    _show_page(ctx, page)


def pause_pressed(ctx: BotContext) -> None:
    """disc:pause:<id>:<page>"""
    _set_status(ctx, "paused", _("Paused."))


def resume_pressed(ctx: BotContext) -> None:
    """disc:resume:<id>:<page>"""
    _set_status(ctx, "active", _("Resumed."))


def delete_pressed(ctx: BotContext) -> None:
    """disc:del:<id>:<page>: ask first."""
    number, page = _target(ctx)
    ctx.edit(_("Delete discount #%(id)s? A discount that was used is archived instead, keeping its history.")
             % {"id": number}, parse_mode=None,
             buttons=[[(_("🗑 Yes, delete"), f"disc:delok:{number}:{page}"), (_("↩️ No"), f"disc:ls:{page}")]])


def delete_confirmed(ctx: BotContext) -> None:
    """disc:delok:<id>:<page>"""
    number, page = _target(ctx)
    try:
        outcome = services.discount_delete(discount_id=number)
        ctx.answer(_("Deleted.") if outcome == "deleted" else _("Archived (it had uses)."))
    except DiscountError as exc:
        ctx.answer(str(exc), alert=True)
    _show_page(ctx, page)


def smart_discount_stats(ctx: BotContext) -> None:
    days = 30
    if ctx.args:
        try:
            days = parsing.parse_period_days(ctx.args[0])
        except DiscountError as exc:
            ctx.reply(str(exc), parse_mode=None)
            return
    now = timezone.now()
    stats = selectors.discount_stats(since=now - timedelta(days=days), until=now)
    labels = dict(Kind.choices)
    lines = [_("📊 Smart discounts, last %(days)s days") % {"days": days},
             _("Uses: %(uses)s · Revenue: %(revenue)s · Discounted: %(discounted)s") % {
                 "uses": stats.uses, "revenue": money(stats.revenue), "discounted": money(stats.discounted)},
             _("Cashback paid: %(paid)s · Taken back: %(reversed)s · Not recovered: %(unrecovered)s · Net: %(net)s") % {
                 "paid": money(stats.cashback_paid), "reversed": money(stats.cashback_reversed),
                 "unrecovered": money(stats.cashback_unrecovered), "net": money(stats.cashback_net)}]
    if stats.per_kind:
        lines.append(_("By kind:"))
        for row in stats.per_kind:
            lines.append(f"• {labels.get(row['kind'], row['kind'])}: {row['uses']} × — {money(row['discounted'])} / "
                         f"{money(row['revenue'])}")
        lines.append(_("Top discounts:"))
        for row in stats.per_discount[:10]:
            name = row["discount__code"] or row["discount__title"] or labels.get(row["discount__kind"], "")
            lines.append(f"• #{row['discount_id']} {name}: {row['uses']} × — {money(row['discounted'] or 0)}")
    else:
        lines.append(_("No discount was used in this period."))
    ctx.reply("\n".join(lines), parse_mode=None)
    try:
        ctx.reply_photo(("stats.png", selectors.stats_chart(stats)), caption=_("Revenue and amount discounted per kind"))
    except TelegramError:
        ctx.reply(_("The chart could not be sent."), parse_mode=None)
