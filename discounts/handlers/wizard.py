"""The admins' /add_smart_discount conversation: the kind by button, then value, limits, days
or hours, conditions as typed answers, and a confirmation before the discount is created."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext

from .. import parsing, selectors, services
from ..services import DiscountError, Kind

DIALOG = "disc_new"
KIND_ORDER = [Kind.HOURLY, Kind.FIRST_PURCHASE, Kind.BULK, Kind.LOYALTY, Kind.SEASONAL, Kind.BIRTHDAY, Kind.CODE,
              Kind.CONDITIONAL]
KIND_PATTERN = r"^disc:new:(" + "|".join(str(k.value) for k in KIND_ORDER) + r")$"

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


def add_smart_discount(ctx: BotContext) -> None:
    dialog.dialog_start(user_id=ctx.user_id, name=DIALOG, data={"stage": "kind"})
    labels = dict(Kind.choices)
    rows = [[(str(labels[k]), f"disc:new:{k}") for k in KIND_ORDER[i:i + 2]] for i in range(0, len(KIND_ORDER), 2)]
    ctx.reply(_("➕ New smart discount (step 1/6). What kind? /cancel stops at any step."), buttons=rows, parse_mode=None)


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


def _dialog_data(ctx: BotContext, *, stage: str | None = None) -> dict | None:
    """The conversation's data, or None (the press is answered) when it ended or, with
    `stage`, when it is at another question."""
    state = dialog.dialog_get(user_id=ctx.user_id)
    if state is None or state[0] != DIALOG:
        ctx.answer(_("This conversation has ended. Start again with /add_smart_discount."), alert=True)
        return None
    if stage is not None and state[1].get("stage") != stage:
        ctx.answer(_("Please answer the current question first."), alert=True)
        return None
    return state[1]


def kind_chosen(ctx: BotContext) -> None:
    """disc:new:<kind>"""
    data = _dialog_data(ctx, stage="kind")
    if data is None:
        return
    kind = ctx.match.group(1)
    data.update(kind=kind, stage="tiers" if kind == Kind.BULK else "value", params={})
    dialog.dialog_start(user_id=ctx.user_id, name=DIALOG, data=data)
    ctx.answer()
    _ask(ctx, data, edit=True)


def cancel_pressed(ctx: BotContext) -> None:
    """disc:new:no"""
    if _dialog_data(ctx) is None:
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    ctx.edit(_("Cancelled."), parse_mode=None)


def create_pressed(ctx: BotContext) -> None:
    """disc:new:ok"""
    data = _dialog_data(ctx, stage="confirm")
    if data is None:
        return
    ends_at = timezone.now() + timedelta(days=data["days"]) if data.get("days") else None
    try:
        discount = services.discount_create(
            kind=data["kind"], percent_bp=data.get("percent_bp"), fixed_amount=data.get("fixed_amount"),
            cap_amount=data.get("cap_amount"), params=data.get("params") or {}, conditions_tree=data.get("conditions") or {},
            code=data.get("code"), ends_at=ends_at, max_uses=data.get("max_uses"),
            per_customer_limit=data.get("per_customer_limit"), source="bot", created_by=ctx.actor)
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
        if selectors.code_taken(code):
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
