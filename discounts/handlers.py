"""Smart discounts in the bot: /available_discounts, /set_birthday, /user_discount_profile,
and for admins /add_smart_discount, /list_smart_discounts, /smart_discount_stats."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop.services import customer_find, money
from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext, add_callback, add_command
from vpnbot.transport.sender import TelegramError, get_sender

from . import parsing, selectors, services
from .models import SmartDiscount
from .services import DiscountError, Kind

PAGE_SIZE = 5
DIALOG = "disc_new"


def _off(ctx: BotContext) -> bool:
    if services.enabled():
        return False
    if ctx.callback:
        ctx.answer(_("Smart discounts are switched off."), alert=True)
    else:
        ctx.reply(_("Smart discounts are switched off."))
    return True


# --- customers ---------------------------------------------------------------------------------------

def available_discounts(ctx: BotContext) -> None:
    if _off(ctx):
        return
    lines = services.available_discounts(customer=ctx.customer)
    if not lines:
        ctx.reply(_("There are no discounts for you right now. Check back soon!"), parse_mode=None)
        return
    ctx.reply(_("🎁 Your discounts:") + "\n" + "\n".join(lines) + "\n\n" + _("Discounts are applied automatically at /buy."),
              parse_mode=None)


def set_birthday(ctx: BotContext) -> None:
    if _off(ctx):
        return
    names = services.month_names()
    rows = [[(str(names[m - 1]), f"disc:bd:{m}") for m in range(i, i + 3)] for i in range(1, 13, 3)]
    current = ""
    if ctx.customer.birth_month:
        current = "\n" + _("Now: %(month)s") % {"month": names[ctx.customer.birth_month - 1]}
    ctx.reply(_("🎂 Which month is your birthday? You get a discount in that month.") + current, buttons=rows, parse_mode=None)


def birthday_chosen(ctx: BotContext) -> None:
    if _off(ctx):
        return
    match = re.match(r"^disc:bd:(\d{1,2})$", ctx.callback_data)
    try:
        if not match:
            raise DiscountError(_("Choose a month from the list."))
        customer = services.birthday_set(customer=ctx.customer, month=int(match.group(1)))
    except DiscountError as exc:
        ctx.answer(str(exc), alert=True)
        return
    ctx.answer()
    ctx.edit(_("🎂 Saved: %(month)s. See /available_discounts.") % {
        "month": services.month_names()[customer.birth_month - 1]}, parse_mode=None)


def user_discount_profile(ctx: BotContext) -> None:
    if _off(ctx):
        return
    customer = ctx.customer
    if ctx.args:
        if not ctx.is_admin:
            ctx.reply(_("Only admins may look at someone else's profile. Send /user_discount_profile alone for yours."))
            return
        customer = customer_find(ctx.args[0])
        if customer is None:
            ctx.reply(_("No customer found for %(query)s. Give a Telegram id or @username.") % {"query": ctx.args[0][:64]},
                      parse_mode=None)
            return
    profile = services.profile_get(customer=customer)
    lines = [_("🏅 Discount profile of %(who)s") % {"who": customer} if customer != ctx.customer else _("🏅 Your discount profile"),
             _("Level: %(level)s") % {"level": services.level_label(profile.level)},
             _("Lifetime spend: %(amount)s") % {"amount": money(profile.lifetime_spend_amount)},
             _("Total saved with discounts: %(amount)s") % {"amount": money(profile.total_saved_amount)},
             _("Cashback earned: %(amount)s") % {"amount": money(profile.cashback_earned_amount)}]
    upcoming = services.next_level(profile)
    if upcoming:
        name, missing = upcoming
        threshold = dict(services.loyalty_thresholds())[name]
        done = min(10, profile.lifetime_spend_amount * 10 // threshold) if threshold else 10
        lines.append(_("Next level: %(level)s — %(amount)s to go") % {"level": services.level_label(name), "amount": money(missing)})
        lines.append("▰" * done + "▱" * (10 - done))
    else:
        lines.append(_("You are at the top level. Thank you!"))
    ctx.reply("\n".join(lines), parse_mode=None)


# --- admins: adding a discount --------------------------------------------------------------------------

KIND_ORDER = [Kind.HOURLY, Kind.FIRST_PURCHASE, Kind.BULK, Kind.LOYALTY, Kind.SEASONAL, Kind.BIRTHDAY, Kind.CODE,
              Kind.CONDITIONAL]


def add_smart_discount(ctx: BotContext) -> None:
    if _off(ctx):
        return
    dialog.dialog_start(user_id=ctx.user_id, name=DIALOG, data={"stage": "kind"})
    labels = dict(Kind.choices)
    rows = [[(str(labels[k]), f"disc:new:{k}") for k in KIND_ORDER[i:i + 2]] for i in range(0, len(KIND_ORDER), 2)]
    ctx.reply(_("➕ New smart discount (step 1/6). What kind? /cancel stops at any step."), buttons=rows, parse_mode=None)


STAGE_PROMPTS = {
    "value": lambda: _("Step 2/6: the value — a percentage like 15% or a fixed amount like 50000; "
                       "optionally a cap: 15% max 30000."),
    "tiers": lambda: _("Step 2/6: the tiers as minimum:value pairs, e.g. 3:5%, 6:10%, 12:15% "
                       "(periods), or amount:300000:10% for order amounts."),
    "levels": lambda: _("Which loyalty levels? e.g. gold, platinum (from bronze, silver, gold, platinum)."),
    "code": lambda: _("The promo code customers will type (letters, digits, _ or -, up to 32)."),
    "limits": lambda: _("Step 3/6: limits as <total uses> <uses per customer>; - means unlimited. Example: 100 1"),
    "hours": lambda: _("Step 4/6: days and hours, e.g. sat,sun 20:00-23:00 or all 22:00-02:00 "
                       "(days: sat sun mon tue wed thu fri, or all)."),
    "season": lambda: _("Step 4/6: the yearly dates as month-day, e.g. 12-25 01-13 (Jalali); add gregorian for "
                        "Gregorian dates."),
    "days": lambda: _("Step 4/6: for how many days should it run? A number, or - for no end."),
    "conditions": lambda: _("Step 5/6: conditions as JSON, e.g. {\"all\": [{\"plan_in\": [1]}, {\"quantity\": "
                            "{\"gte\": 3}}]}, or - for none."),
}


def _stages(kind: str) -> list[str]:
    return ((["tiers"] if kind == Kind.BULK else ["value"]) + (["levels"] if kind == Kind.LOYALTY else [])
            + (["code"] if kind == Kind.CODE else []) + ["limits"] + (["hours"] if kind == Kind.HOURLY else [])
            + (["season"] if kind == Kind.SEASONAL else []) + ["days", "conditions", "confirm"])


def _next_stage(data: dict) -> str:
    stages = _stages(data["kind"])
    return stages[stages.index(data["stage"]) + 1]


def _ask(ctx: BotContext, data: dict, *, edit: bool = False) -> None:
    if data["stage"] == "confirm":
        ctx.reply(_("Step 6/6: create this discount?") + "\n" + _summary(data), parse_mode=None,
                  buttons=[[(_("✅ Create"), "disc:new:ok"), (_("✖️ Cancel"), "disc:new:no")]])
        return
    text = STAGE_PROMPTS[data["stage"]]()
    (ctx.edit if edit else ctx.reply)(text + "\n/cancel", parse_mode=None)


def _summary(data: dict) -> str:
    labels = dict(Kind.choices)
    parts = [_("Kind: %(kind)s") % {"kind": labels[data["kind"]]}]
    for key in ("percent_bp", "fixed_amount", "cap_amount", "code", "max_uses", "per_customer_limit", "days"):
        if data.get(key) is not None:
            parts.append(f"{key}: {data[key]}")
    if data.get("params"):
        parts.append("params: " + json.dumps(data["params"], ensure_ascii=False))
    if data.get("conditions"):
        parts.append("conditions: " + json.dumps(data["conditions"], ensure_ascii=False))
    return "\n".join(parts)


def new_discount_button(ctx: BotContext) -> None:
    if _off(ctx):
        return
    state = dialog.dialog_get(user_id=ctx.user_id)
    action = ctx.callback_data.split(":", 2)[2]
    if state is None or state[0] != DIALOG:
        ctx.answer(_("This conversation has ended. Start again with /add_smart_discount."), alert=True)
        return
    data = state[1]
    if action == "no":
        dialog.dialog_clear(user_id=ctx.user_id)
        ctx.edit(_("Cancelled."), parse_mode=None)
        return
    if action == "ok":
        if data.get("stage") != "confirm":
            ctx.answer(_("Please answer the current question first."), alert=True)
            return
        _create(ctx, data)
        return
    if data.get("stage") != "kind" or action not in Kind.values:
        ctx.answer(_("Please answer the current question first."), alert=True)
        return
    data.update(kind=action, stage="tiers" if action == Kind.BULK else "value", params={})
    dialog.dialog_start(user_id=ctx.user_id, name=DIALOG, data=data)
    ctx.answer()
    _ask(ctx, data, edit=True)


def _create(ctx: BotContext, data: dict) -> None:
    ends_at = timezone.now() + timedelta(days=data["days"]) if data.get("days") else None
    who = f"@{ctx.user.username}" if ctx.user.username else f"tg:{ctx.user_id}"
    try:
        discount = services.discount_create(
            kind=data["kind"], percent_bp=data.get("percent_bp"), fixed_amount=data.get("fixed_amount"),
            cap_amount=data.get("cap_amount"), params=data.get("params") or {}, conditions_tree=data.get("conditions") or {},
            code=data.get("code"), ends_at=ends_at, max_uses=data.get("max_uses"),
            per_customer_limit=data.get("per_customer_limit"), source="bot", created_by=who)
    except ValidationError as exc:
        dialog.dialog_clear(user_id=ctx.user_id)
        ctx.edit(_("Not created: %(errors)s\nStart again with /add_smart_discount.") % {"errors": "; ".join(exc.messages)},
                 parse_mode=None)
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    ctx.edit(_("✅ Discount #%(id)s created. See /list_smart_discounts.") % {"id": discount.pk}, parse_mode=None)


@dialog.step(DIALOG)
def new_discount_answer(ctx: BotContext, data: dict) -> None:
    if not ctx.is_admin:
        dialog.dialog_clear(user_id=ctx.user_id)
        return
    stage = data.get("stage")
    if stage in ("kind", "confirm"):
        ctx.reply(_("Please use the buttons above, or /cancel."), parse_mode=None)
        return
    text = (ctx.text or "").strip()
    if not text:
        ctx.reply(_("Please answer with text, or /cancel."), parse_mode=None)
        return
    try:
        _apply_answer(data, stage, text)
    except (DiscountError, ValidationError) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        ctx.reply("⚠️ " + message + "\n" + STAGE_PROMPTS[stage]() + "\n/cancel", parse_mode=None)
        return
    data["stage"] = _next_stage(data)
    dialog.dialog_start(user_id=ctx.user_id, name=DIALOG, data=data)
    _ask(ctx, data)


def _apply_answer(data: dict, stage: str, text: str) -> None:
    if stage == "value":
        data.update(parsing.parse_value(text))
    elif stage == "tiers":
        data["params"] = parsing.parse_tiers(text)
    elif stage == "levels":
        data["params"] = {"levels": parsing.parse_levels(text)}
    elif stage == "code":
        code = text.upper()
        if not services.CODE_RE.match(code):
            raise DiscountError(_("A code is 1-32 letters, digits, _ or -."))
        if SmartDiscount.objects.filter(code=code).exists():
            raise DiscountError(_("This code is already used by another discount."))
        data["code"] = code
    elif stage == "limits":
        data["max_uses"], data["per_customer_limit"] = parsing.parse_limits(text)
    elif stage == "hours":
        data["params"] = parsing.parse_hours(text)
    elif stage == "season":
        data["params"] = parsing.parse_season(text)
    elif stage == "days":
        data["days"] = parsing.parse_days(text)
    elif stage == "conditions":
        data["conditions"] = parsing.parse_conditions(text)


# --- admins: listing, pausing, deleting -----------------------------------------------------------------------

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


def list_smart_discounts(ctx: BotContext) -> None:
    if _off(ctx):
        return
    page = parsing.parse_page(ctx.args[0]) if ctx.args else 1
    text, buttons = _list_page(page)
    ctx.reply(text, buttons=buttons or None, parse_mode=None)


def list_button(ctx: BotContext) -> None:
    if _off(ctx):
        return
    match = re.match(r"^disc:(ls|pause|resume|del|delok):(\d{1,9})(?::(\d{1,6}))?$", ctx.callback_data)
    if not match:
        ctx.answer(_("This button is no longer valid."), alert=True)
        return
    action, number, page = match.group(1), int(match.group(2)), int(match.group(3) or 1)
    try:
        if action == "ls":
            page = number
        elif action in ("pause", "resume"):
            services.discount_set_status(discount_id=number, status="paused" if action == "pause" else "active")
            ctx.answer(_("Paused.") if action == "pause" else _("Resumed."))
        elif action == "del":
            ctx.edit(_("Delete discount #%(id)s? A discount that was used is archived instead, keeping its history.")
                     % {"id": number}, parse_mode=None,
                     buttons=[[(_("🗑 Yes, delete"), f"disc:delok:{number}:{page}"), (_("↩️ No"), f"disc:ls:{page}")]])
            return
        elif action == "delok":
            outcome = services.discount_delete(discount_id=number)
            ctx.answer(_("Deleted.") if outcome == "deleted" else _("Archived (it had uses)."))
    except DiscountError as exc:
        ctx.answer(str(exc), alert=True)
    text, buttons = _list_page(page)
    ctx.edit(text, buttons=buttons or None, parse_mode=None)


# --- admins: statistics ------------------------------------------------------------------------------------------

def smart_discount_stats(ctx: BotContext) -> None:
    if _off(ctx):
        return
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
    png = selectors.stats_chart(stats)
    try:
        get_sender().send_photo(ctx.chat_id, ("stats.png", png), caption=_("Revenue and amount discounted per kind"))
    except TelegramError:
        ctx.reply(_("The chart could not be sent."), parse_mode=None)


def register(application) -> None:
    add_command(application, "available_discounts", available_discounts)
    add_command(application, "set_birthday", set_birthday)
    add_command(application, "user_discount_profile", user_discount_profile)
    add_command(application, "add_smart_discount", add_smart_discount, admin=True)
    add_command(application, "list_smart_discounts", list_smart_discounts, admin=True)
    add_command(application, "smart_discount_stats", smart_discount_stats, admin=True)
    add_callback(application, r"^disc:bd:", birthday_chosen)
    add_callback(application, r"^disc:new:", new_discount_button, admin=True)
    add_callback(application, r"^disc:(ls|pause|resume|del|delok):", list_button, admin=True)
