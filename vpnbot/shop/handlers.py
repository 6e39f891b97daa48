"""The shop in the bot: /start, /help, /plans, /buy, /wallet, /topup, /my_services, /language,
and the admins' receipt review buttons."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext, add_callback, add_command, handler, reply_keyboard
from vpnbot.transport.sender import MAX_TEXT, get_sender

from . import events, selectors, services
from .services import ShopError, money

MENU = [
    ("plans", gettext_lazy("🛒 Buy a service")),
    ("my_services", gettext_lazy("📦 My services")),
    ("wallet", gettext_lazy("💰 Wallet")),
    ("topup", gettext_lazy("➕ Top up")),
    ("help", gettext_lazy("❓ Help")),
]


def load_customer(ctx: BotContext) -> None:
    """Context hook: the customer behind every update, and their language."""
    if not ctx.user or ctx.user.is_bot or ctx.update.my_chat_member:
        return
    customer, _created = services.customer_sync(
        telegram_id=ctx.user.id, username=ctx.user.username or "", first_name=ctx.user.first_name or "",
        last_name=ctx.user.last_name or "", language_code=ctx.user.language_code or "")
    ctx.customer = customer
    ctx.language = customer.effective_language
    if ctx.text.startswith("/"):
        command = ctx.text.split()[0][1:].split("@")[0][:32]
        events.emit("command_used", customer=customer, record=False, command=command)


def main_menu() -> dict:
    labels = [str(label) for _cmd, label in MENU]
    return reply_keyboard([labels[:2], labels[2:4], labels[4:]])


# --- /start, /help, /language ---------------------------------------------------------------

def start(ctx: BotContext) -> None:
    arg = ctx.args[0] if ctx.args else ""
    if arg.startswith("ref_") and ctx.customer:
        services.customer_apply_referral(customer=ctx.customer, code=arg[4:][:16])
    name = ctx.user.first_name or ctx.user.username or ""
    ctx.reply(_("👋 Hello %(name)s, welcome to the VPN shop!\nChoose from the menu below, or send /help.")
              % {"name": escape(name)}, keyboard=main_menu())


def help_command(ctx: BotContext) -> None:
    lines = [
        _("Here is what I can do:"),
        "/plans — " + _("plans and prices"),
        "/buy — " + _("buy or renew a service"),
        "/my_services — " + _("your services and configs"),
        "/wallet — " + _("balance and history"),
        "/topup — " + _("add money by card receipt"),
        "/language — " + _("change language"),
        "/cancel — " + _("stop what you were doing"),
    ]
    if ctx.customer and ctx.customer.referral_code:
        lines.append(_("Invite friends with your link and earn %(percent)s%% of their first purchase: %(link)s")
                     % {"percent": settings.REFERRAL_REWARD_PERCENT, "link": referral_link(ctx)})
    ctx.reply("\n".join(lines), parse_mode=None)


def referral_link(ctx: BotContext) -> str:
    try:
        username = ctx.ptb.bot.username  # known once the Application is initialized (getMe)
    except (AttributeError, RuntimeError):
        username = "your_bot"
    return f"https://t.me/{username}?start=ref_{ctx.customer.referral_code}"


def language(ctx: BotContext) -> None:
    ctx.reply(_("Choose your language:"), buttons=[[("فارسی", "lang:fa"), ("English", "lang:en")]])


def language_chosen(ctx: BotContext) -> None:
    code = ctx.callback_data.split(":", 1)[1]
    try:
        services.customer_set_language(customer=ctx.customer, language=code)
    except ShopError as exc:
        ctx.answer(str(exc), alert=True)
        return
    with translation.override(code):
        ctx.answer()
        ctx.edit(_("Language set to English.") if code == "en" else _("Language set to Persian."))
        ctx.reply(_("Menu updated."), keyboard=main_menu())


# --- plans and buying ------------------------------------------------------------------------

def plan_line(plan) -> str:
    traffic = _("unlimited") if plan.traffic_gb == 0 else _("%(gb)s GB") % {"gb": plan.traffic_gb}
    return _("%(name)s — %(days)s days, %(traffic)s, %(devices)s device(s): %(price)s") % {
        "name": plan.name, "days": plan.duration_days, "traffic": traffic, "devices": plan.device_limit,
        "price": money(plan.price_amount)}


def plans(ctx: BotContext) -> None:
    active = services.plan_list_active()
    if not active:
        ctx.reply(_("No plans are on sale right now. Please check back later."))
        return
    code = ctx.args[0] if ctx.args else ""
    lines = [_("Our plans:")] + [f"• {plan_line(p)}" for p in active]
    if code and not CODE.fullmatch(code):  # it would break the buttons' callback_data (ASCII, 64 bytes)
        lines.insert(0, _("A discount code is up to 32 Latin letters, digits, - or _; showing the plans without it.") + "\n")
        code = ""
    buttons = [[(p.name, f"buy:p:{p.pk}:{code}" if code else f"buy:p:{p.pk}")] for p in active]
    ctx.reply("\n".join(lines), buttons=buttons, parse_mode=None)


CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")


def buy(ctx: BotContext) -> None:
    plans(ctx)




def buy_step(ctx: BotContext) -> None:
    """buy:p:<plan>[:code] → quantities; buy:q:<plan>:<qty>[:code] → confirmation;
    buy:ok:<plan>:<qty>:<total>:<key>[+] → pay ("+": with the code kept on the server for this
    key; buttons sent before that still end in ":<code>")."""
    data = ctx.callback_data
    simple = re.match(r"^buy:(p):(\d{1,9})(?::([A-Za-z0-9_-]{1,32}))?$", data)
    quantity_step = re.match(r"^buy:(q):(\d{1,9}):(\d{1,2})(?::([A-Za-z0-9_-]{1,32}))?$", data)
    confirm = re.match(r"^buy:ok:(\d{1,9}):(\d{1,2}):(\d{1,15}):([0-9a-f]{8})(\+|:[A-Za-z0-9_-]{1,32})?$", data)
    try:
        if simple:
            plan = services.plan_get_active(simple.group(2))
            code = simple.group(3) or ""
            suffix = f":{code}" if code else ""
            rows = [[(_("%(n)s × %(days)s days") % {"n": q, "days": plan.duration_days}, f"buy:q:{plan.pk}:{q}{suffix}")
                     for q in services.QUANTITIES[i:i + 2]] for i in (0, 2)]
            ctx.edit(_("%(plan)s\nHow many periods?") % {"plan": plan_line(plan)}, buttons=rows, parse_mode=None)
        elif quantity_step:
            plan = services.plan_get_active(quantity_step.group(2))
            quantity = services.validate_quantity(quantity_step.group(3))
            show_confirmation(ctx, plan, quantity, quantity_step.group(4) or "")
        elif confirm:
            pay(ctx, confirm)
        else:
            ctx.answer(_("This button is no longer valid. Start again with /buy."), alert=True)
    except ShopError as exc:
        ctx.answer(str(exc), alert=True)


def quote_text(plan, quote) -> str:
    lines = [_("🧾 %(plan)s × %(n)s") % {"plan": plan.name, "n": quote.quantity},
             _("List price: %(amount)s") % {"amount": money(quote.list_amount)}]
    for d in quote.discounts:
        lines.append(_("➖ %(label)s: −%(amount)s") % {"label": d.label, "amount": money(d.amount)})
    lines.append(_("Total: %(amount)s") % {"amount": money(quote.total_amount)})
    if quote.cashback_amount:
        lines.append(_("Cashback to your wallet after payment: %(amount)s") % {"amount": money(quote.cashback_amount)})
    return "\n".join(lines)


def show_confirmation(ctx: BotContext, plan, quantity: int, code: str = "", note: str = "") -> None:
    quote = services.price_quote(ctx.customer, plan, quantity, code=code)
    key = secrets.token_hex(4)
    suffix = ""
    if code:  # a 32-character code would push the Pay button's callback_data over 64 bytes
        services.checkout_code_keep(customer_id=ctx.customer.pk, key=key, code=code)
        suffix = "+"
    if code and not quote.code_applied:
        note = (note + "\n" if note else "") + _("The code %(code)s does not apply to this purchase "
                                                 "(unknown, expired, used up or for other plans).") % {"code": code}
    text = (note + "\n\n" if note else "") + quote_text(plan, quote)
    text += "\n" + _("Wallet balance: %(amount)s") % {"amount": money(ctx.customer.balance_amount)}
    ctx.edit(text, parse_mode=None, buttons=[
        [(_("✅ Pay %(amount)s") % {"amount": money(quote.total_amount)},
          f"buy:ok:{plan.pk}:{quantity}:{quote.total_amount}:{key}{suffix}")],
        [(_("✖️ Cancel"), "buy:cancel")]])


def pay(ctx: BotContext, match) -> None:
    plan_id, quantity, total, key, suffix = match.group(1), match.group(2), int(match.group(3)), match.group(4), match.group(5)
    if suffix == "+":
        code = services.checkout_code_get(customer_id=ctx.customer.pk, key=key)
    else:
        code = suffix[1:] if suffix else ""
    try:
        result = services.order_checkout(customer_id=ctx.customer.pk, plan_id=plan_id, quantity=quantity,
                                         idempotency_key=f"tg:{ctx.user_id}:{key}", code=code, expected_total=total)
    except services.InsufficientBalance as exc:
        ctx.answer()
        offer = min(max(exc.missing, settings.TOPUP_MIN_AMOUNT), settings.TOPUP_MAX_AMOUNT)  # a top-up /topup accepts
        ctx.edit(_("Your wallet is short by %(amount)s. Top up with /topup and try again.") % {"amount": money(exc.missing)},
                 parse_mode=None, buttons=[[(_("➕ Top up %(amount)s") % {"amount": money(offer)}, f"topup:{offer}")]])
        return
    except services.QuoteChanged:
        plan = services.plan_get_active(plan_id)
        show_confirmation(ctx, plan, int(quantity), code, note=_("The price changed since you saw it."))
        return
    if not result.created:
        ctx.answer(_("This purchase is already done."))
        return
    order = result.order
    sub = order.subscription
    ctx.edit(_("✅ Paid %(amount)s for %(plan)s. Your service runs until %(date)s.\nSee /my_services.")
             % {"amount": money(order.paid_amount), "plan": order.plan.name,
                "date": services.format_date(sub.expires_at, ctx.customer)}, parse_mode=None)


def buy_cancel(ctx: BotContext) -> None:
    ctx.edit(_("Purchase cancelled."))


# --- wallet and top-up --------------------------------------------------------------------------

def wallet(ctx: BotContext) -> None:
    customer = selectors.customer_fresh(ctx.customer.pk)
    lines = [_("💰 Balance: %(amount)s") % {"amount": money(customer.balance_amount)}]
    history = services.wallet_history(customer=customer)
    if history:
        lines.append(_("Last transactions:"))
        for tx in history:
            lines.append(f"{services.format_date(tx.created_at, customer)}  {tx.amount:+,}  {tx.get_reason_display()}")
    else:
        lines.append(_("No transactions yet. Top up with /topup."))
    ctx.reply("\n".join(lines), parse_mode=None)


def topup(ctx: BotContext) -> None:
    if ctx.args:
        receive_amount(ctx, {}, text=ctx.args[0])
        return
    dialog.dialog_start(user_id=ctx.user_id, name="topup_amount")
    ctx.reply(_("How much do you want to add? Send a whole number between %(min)s and %(max)s.\n/cancel to stop.")
              % {"min": money(settings.TOPUP_MIN_AMOUNT), "max": money(settings.TOPUP_MAX_AMOUNT)}, parse_mode=None)


def topup_button(ctx: BotContext) -> None:
    receive_amount(ctx, {}, text=ctx.callback_data.split(":", 1)[1])


@dialog.step("topup_amount")
def receive_amount(ctx: BotContext, data: dict, text: str | None = None) -> None:
    text = text if text is not None else ctx.text
    if text is None or (ctx.message and not ctx.callback and not ctx.message.text):
        ctx.reply(_("Please send the amount as a number (not a photo or file)."))
        return
    try:
        amount = services.topup_parse_amount(text)
    except ShopError as exc:
        dialog.dialog_start(user_id=ctx.user_id, name="topup_amount")
        ctx.reply(str(exc) + "\n" + _("How much do you want to add?"), parse_mode=None)
        return
    dialog.dialog_start(user_id=ctx.user_id, name="topup_receipt", data={"amount": amount})
    card = ""
    if settings.PAYMENT_CARD_NUMBER:
        card = "\n" + _("Card: %(card)s (%(holder)s)") % {"card": settings.PAYMENT_CARD_NUMBER,
                                                         "holder": settings.PAYMENT_CARD_HOLDER}
    ctx.reply(_("Transfer %(amount)s to the shop's card, then send a photo of the receipt here.") % {"amount": money(amount)}
              + card + "\n/cancel", parse_mode=None)


@dialog.step("topup_receipt")
def receive_receipt(ctx: BotContext, data: dict) -> None:
    photos = ctx.message.photo if ctx.message else None
    if not photos:
        ctx.reply(_("Please send the receipt as a photo. /cancel to stop."))
        return
    amount = int(data.get("amount", 0))
    try:
        payment = services.payment_submit(customer=ctx.customer, amount=amount, receipt_file_id=photos[-1].file_id)
    except ShopError as exc:
        dialog.dialog_clear(user_id=ctx.user_id)
        ctx.reply(str(exc))
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    ctx.reply(_("Thank you! Your receipt #%(id)s for %(amount)s is being reviewed. You will get a message when it is decided.")
              % {"id": payment.pk, "amount": money(amount)}, parse_mode=None)


def review(ctx: BotContext) -> None:
    match = re.match(r"^pay:(ok|no):(\d{1,12})$", ctx.callback_data)
    if not match:
        ctx.answer(_("This button is no longer valid."), alert=True)
        return
    payment = selectors.payment_get(int(match.group(2)))
    if payment is None:
        ctx.answer(_("This top-up does not exist."), alert=True)
        return
    reviewer = f"@{ctx.user.username}" if ctx.user.username else f"tg:{ctx.user_id}"
    if match.group(1) == "ok":
        decision = services.payment_approve(payment_id=payment.pk, reviewer=reviewer)
        if decision.changed:
            ctx.answer(_("Approved: %(amount)s credited.") % {"amount": money(payment.amount)})
        else:
            ctx.answer(_("Already %(status)s by %(who)s.") % {"status": decision.payment.get_status_display(),
                                                            "who": decision.payment.reviewer}, alert=True)
        return
    if payment.status != payment.Status.PENDING:
        ctx.answer(_("Already %(status)s by %(who)s.") % {"status": payment.get_status_display(), "who": payment.reviewer},
                   alert=True)
        return
    dialog.dialog_start(user_id=ctx.user_id, name="reject_reason", data={"payment_id": payment.pk})
    ctx.answer()
    ctx.send(ctx.user_id, _("Why is top-up #%(id)s rejected? Send the reason (the customer will see it), or /cancel.")
             % {"id": payment.pk})


@dialog.step("reject_reason")
def receive_reject_reason(ctx: BotContext, data: dict) -> None:
    if not ctx.is_admin:
        dialog.dialog_clear(user_id=ctx.user_id)
        return
    if not ctx.text:
        ctx.reply(_("Please send the reason as text, or /cancel."))
        return
    try:
        decision = services.payment_reject(payment_id=int(data["payment_id"]), reviewer=(
            f"@{ctx.user.username}" if ctx.user.username else f"tg:{ctx.user_id}"), reason=ctx.text)
    except ShopError as exc:
        ctx.reply(str(exc))
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    if decision.changed:
        ctx.reply(_("Top-up #%(id)s rejected; the customer was told.") % {"id": decision.payment.pk})
    else:
        ctx.reply(_("Top-up #%(id)s was already %(status)s.") % {"id": decision.payment.pk,
                                                               "status": decision.payment.get_status_display()})


# --- my services --------------------------------------------------------------------------------

def my_services(ctx: BotContext) -> None:
    subs = services.subscriptions_for(ctx.customer)
    if not subs:
        ctx.reply(_("You have no active service. Buy one with /buy."))
        return
    parts, files = [], []
    for sub in subs:
        lines = [_("📦 %(plan)s — until %(date)s (%(days)s days left)") % {
            "plan": escape(sub.plan.name), "date": services.format_date(sub.expires_at, ctx.customer),
            "days": services.days_left(sub)}]
        if not sub.config:
            lines.append(_("Your config is being prepared; you will get a message."))
        elif len(services.config_html(sub.config)) <= services.MAX_CONFIG_LENGTH:
            lines.append("<code>" + services.config_html(sub.config) + "</code>")
        else:  # saved before configs were limited to what fits in a message
            lines.append(_("Your config is in the file below."))
            files.append(sub)
        parts.append("\n".join(lines))
    # one message per group of services that fits: Telegram refuses a <code> cut in two
    messages = [parts[0]]
    for part in parts[1:]:
        if len(messages[-1]) + 2 + len(part) > MAX_TEXT:
            messages.append(part)
        else:
            messages[-1] += "\n\n" + part
    for text in messages:
        ctx.reply(text)
    for sub in files:
        get_sender().send_document(ctx.chat_id, f"config-{sub.pk}.txt", sub.config.encode(),
                                   caption=_("Config of %(plan)s") % {"plan": sub.plan.name})


@dialog.fallback
def menu_button(ctx: BotContext) -> bool:
    """The main menu's buttons arrive as text in the customer's language (or the other one)."""
    if not ctx.text:
        return False
    for command, label in MENU:
        for lang, _name in settings.LANGUAGES:
            with translation.override(lang):
                if ctx.text == str(label):
                    globals_map = {"plans": plans, "my_services": my_services, "wallet": wallet, "topup": topup,
                                   "help": help_command}
                    globals_map[command](ctx)
                    return True
    return False


def chat_member(ctx: BotContext) -> None:
    """Telegram tells us when a customer blocks (kicked) or unblocks (member) the bot."""
    change = ctx.update.my_chat_member
    if not change or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    if status in ("kicked", "left"):
        services.on_chat_blocked(chat_id=change.chat.id, description=f"my_chat_member: {status}")
    elif status == "member":
        services.customer_sync(telegram_id=change.from_user.id, username=change.from_user.username or "",
                               first_name=change.from_user.first_name or "", last_name=change.from_user.last_name or "",
                               language_code=change.from_user.language_code or "")


def register(application) -> None:
    from telegram.ext import ChatMemberHandler  # PTB is loaded only where an Application is built

    application.add_handler(ChatMemberHandler(handler(chat_member), ChatMemberHandler.MY_CHAT_MEMBER))
    add_command(application, "start", start)
    add_command(application, "help", help_command)
    add_command(application, "language", language)
    add_command(application, "plans", plans)
    add_command(application, "buy", buy)
    add_command(application, "wallet", wallet)
    add_command(application, "topup", topup)
    add_command(application, "my_services", my_services)
    add_callback(application, r"^lang:", language_chosen)
    add_callback(application, r"^buy:cancel$", buy_cancel)
    add_callback(application, r"^buy:", buy_step)
    add_callback(application, r"^topup:\d+$", topup_button)
    add_callback(application, r"^pay:", review, admin=True)
