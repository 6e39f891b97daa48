"""Extra traffic in the bot, from a service of /my_services: its "More traffic" button shows the
packs (tp:<sub>), a pack the confirmation with the price and the wallet balance
(tp:<sub>:<pack>), and Pay buys it (tpok:<sub>:<pack>:<price>:<key>; the key makes the purchase
once, the price is the one the customer saw)."""

from __future__ import annotations

import secrets

from django.utils.html import escape
from django.utils.translation import gettext as _

from vpnbot.transport.bot import BotContext

from .. import selectors, services
from ..formatting import gigabytes, money
from ..provisioning import get_provisioner
from .buying import refusals_answered

TRAFFIC_PACKS_PATTERN = r"^tp:(\d{1,12})$"
TRAFFIC_PACK_PATTERN = r"^tp:(\d{1,12}):(\d{1,9})$"
TRAFFIC_PAY_PATTERN = r"^tpok:(\d{1,12}):(\d{1,9}):(\d{1,13}):([0-9a-f]{8})$"
TRAFFIC_CANCEL_PATTERN = r"^tp:cancel$"


@refusals_answered
def traffic_packs(ctx: BotContext) -> None:
    sub = services.traffic_subscription(customer_id=ctx.customer.pk, subscription_id=ctx.match.group(1))
    packs = selectors.traffic_packs_on_sale()
    if not packs:
        ctx.answer(_("No traffic packs are on sale right now."), alert=True)
        return
    rows = [[(_("%(name)s — %(gb)s GB: %(price)s") % {"name": p.name, "gb": p.traffic_gb, "price": money(p.price_amount)},
              f"tp:{sub.pk}:{p.pk}")] for p in packs]
    rows.append([(_("✖️ Cancel"), "tp:cancel")])
    ctx.edit(_("➕ Extra traffic for %(plan)s. Choose a pack:") % {"plan": escape(sub.plan.name)}, buttons=rows)


@refusals_answered
def traffic_pack(ctx: BotContext) -> None:
    sub = services.traffic_subscription(customer_id=ctx.customer.pk, subscription_id=ctx.match.group(1))
    pack = services.traffic_pack_get_active(ctx.match.group(2))
    show_confirmation(ctx, sub, pack)


def show_confirmation(ctx: BotContext, sub, pack, note: str = "") -> None:
    balance = selectors.customer_fresh(ctx.customer.pk).balance_amount
    lines = [note] if note else []
    lines += [_("🧾 %(pack)s: %(gb)s GB more for %(plan)s") % {"pack": escape(pack.name), "gb": pack.traffic_gb,
                                                             "plan": escape(sub.plan.name)},
              _("Price: %(amount)s") % {"amount": money(pack.price_amount)},
              _("Wallet balance: %(amount)s") % {"amount": money(balance)}]
    key = secrets.token_hex(4)
    ctx.edit("\n".join(lines), buttons=[
        [(_("✅ Pay %(amount)s") % {"amount": money(pack.price_amount)},
          f"tpok:{sub.pk}:{pack.pk}:{pack.price_amount}:{key}")],
        [(_("✖️ Cancel"), "tp:cancel")]])


@refusals_answered
def traffic_pay(ctx: BotContext) -> None:
    sub_id, pack_id, price, key = ctx.match.groups()
    try:
        result = services.traffic_checkout(customer_id=ctx.customer.pk, subscription_id=int(sub_id), pack_id=int(pack_id),
                                           idempotency_key=f"tg:{ctx.user_id}:{key}", expected_amount=int(price))
    except services.InsufficientBalance as exc:
        ctx.answer()
        low, high = services.topup_limits()
        offer = min(max(exc.missing, low), high)  # a top-up /topup accepts
        ctx.edit(_("Your wallet is short by %(amount)s. Top up with /topup and try again.") % {"amount": money(exc.missing)},
                 parse_mode=None, buttons=[[(_("➕ Top up %(amount)s") % {"amount": money(offer)}, f"topup:{offer}")]])
        return
    except services.QuoteChanged:
        sub = services.traffic_subscription(customer_id=ctx.customer.pk, subscription_id=sub_id)
        show_confirmation(ctx, sub, services.traffic_pack_get_active(pack_id), note=_("The price changed since you saw it."))
        return
    if not result.created:
        ctx.answer(_("This purchase is already done."))
        return
    purchase = result.purchase
    info = get_provisioner().account_info([purchase.subscription]).get(purchase.subscription_id)
    text = _("✅ %(gb)s GB added to your %(plan)s service for %(amount)s.") % {
        "gb": purchase.traffic_gb, "plan": escape(purchase.subscription.plan.name), "amount": money(purchase.amount)}
    if info is not None and info.limit_bytes:
        text += "\n" + _("Your traffic limit is now %(limit)s GB.") % {"limit": gigabytes(info.limit_bytes)}
    ctx.edit(text + "\n" + _("See /my_services."))


def traffic_cancel(ctx: BotContext) -> None:
    ctx.edit(_("Purchase cancelled."))
