"""The customer's account in the bot: who they are on every update, /start (with a referral
link), /help, /language, the main menu keyboard, and blocking or unblocking the bot."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.transport.bot import BotContext, reply_keyboard

from .. import events, services
from ..services import ShopError

MENU = [
    ("plans", gettext_lazy("🛒 Buy a service")),
    ("my_services", gettext_lazy("📦 My services")),
    ("wallet", gettext_lazy("💰 Wallet")),
    ("topup", gettext_lazy("➕ Top up")),
    ("help", gettext_lazy("❓ Help")),
]


def _sync(user):
    """The customer of a Telegram user (PTB User), created or brought up to date."""
    return services.customer_sync(telegram_id=user.id, username=user.username or "", first_name=user.first_name or "",
                                  last_name=user.last_name or "", language_code=user.language_code or "")


def load_customer(ctx: BotContext) -> None:
    """Context hook: the customer behind every update, and their language."""
    if not ctx.user or ctx.user.is_bot or ctx.update.my_chat_member:
        return
    customer, _created = _sync(ctx.user)
    ctx.customer = customer
    ctx.language = customer.effective_language
    if ctx.text.startswith("/"):
        command = ctx.text.split()[0][1:].split("@")[0][:32]
        events.emit("command_used", customer=customer, record=False, command=command)


def main_menu() -> dict:
    labels = [str(label) for _cmd, label in MENU]
    return reply_keyboard([labels[:2], labels[2:4], labels[4:]])


def start(ctx: BotContext) -> None:
    arg = ctx.args[0] if ctx.args else ""
    if arg.startswith("ref_") and ctx.customer:
        services.customer_apply_referral(customer=ctx.customer, code=arg[4:][:16])
    if arg.startswith("topup_") and ctx.customer:  # t.me/<bot>?start=topup_<amount>: the Mini App's card top-up
        from .wallet import topup_by_card

        topup_by_card(ctx, arg[6:][:16])
        return
    name = ctx.user.first_name or ctx.user.username or ""
    ctx.reply(_("👋 Hello %(name)s, welcome to the VPN shop!\nChoose from the menu below, or send /help.")
              % {"name": escape(name)}, keyboard=main_menu())
    url = mini_app_url()
    if url:  # a message has one keyboard: the menu stays below, the Mini App's button comes with a second one
        ctx.reply(_("Or shop in the app, right here in Telegram:"), buttons=[[(_("🛍 Open the shop"), f"webapp:{url}")]])


def mini_app_url() -> str:
    """The Mini App's address when it is on and the shop has a public HTTPS address (Telegram
    opens Mini Apps over HTTPS only), else ""."""
    base = getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/")
    if not getattr(settings, "MINIAPP_ENABLED", False) or not base.startswith("https://"):
        return ""
    return base + "/app/"


def help_command(ctx: BotContext) -> None:
    lines = [
        _("Here is what I can do:"),
        "/plans — " + _("plans and prices"),
        "/buy — " + _("buy or renew a service"),
        *(["/trial — " + _("a free trial")] if settings.TRIAL_ENABLED else []),
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
    """lang:<code>"""
    code = ctx.match.group(1)
    try:
        services.customer_set_language(customer=ctx.customer, language=code)
    except ShopError as exc:
        ctx.answer(str(exc), alert=True)
        return
    with translation.override(code):
        ctx.answer()
        ctx.edit(_("Language set to English.") if code == "en" else _("Language set to Persian."))
        ctx.reply(_("Menu updated."), keyboard=main_menu())


def chat_member(ctx: BotContext) -> None:
    """Telegram tells us when a customer blocks (kicked) or unblocks (member) the bot."""
    change = ctx.update.my_chat_member
    if not change or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    if status in ("kicked", "left"):
        services.on_chat_blocked(chat_id=change.chat.id, description=f"my_chat_member: {status}")
    elif status == "member":
        _sync(change.from_user)
