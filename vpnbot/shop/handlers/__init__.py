"""The shop in the bot: /start, /help, /plans, /buy, /wallet, /topup, /my_services (with a new
link and extra traffic), /trial, /language, the main menu's buttons, and the admins' receipt
review buttons; `register` adds them all."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext, add_callback, add_command, handler

from .account import MENU, chat_member, help_command, language, language_chosen, load_customer, main_menu, start
from .buying import PAY_PATTERN, PLAN_PATTERN, QUANTITY_PATTERN, buy, buy_cancel, buy_pay, buy_plan, buy_quantity, plans
from .my_services import my_services, new_link, new_link_cancelled, new_link_confirmed
from .paying import ORDER_METHOD_PATTERN, TOPUP_METHOD_PATTERN, order_method, topup_method
from .review import receive_reject_reason, review_approve, review_approve_confirmed, review_reject
from .traffic import (
    TRAFFIC_CANCEL_PATTERN,
    TRAFFIC_PACK_PATTERN,
    TRAFFIC_PACKS_PATTERN,
    TRAFFIC_PAY_PATTERN,
    traffic_cancel,
    traffic_pack,
    traffic_packs,
    traffic_pay,
)
from .trial import TRIAL_FEATURE, trial
from .wallet import receive_amount, receive_receipt, topup, topup_button, wallet

__all__ = [
    "MENU", "buy", "buy_cancel", "buy_pay", "buy_plan", "buy_quantity", "chat_member", "help_command", "language",
    "language_chosen", "load_customer", "main_menu", "menu_button", "my_services", "new_link", "new_link_cancelled",
    "new_link_confirmed", "plans", "receive_amount", "receive_receipt", "receive_reject_reason", "register",
    "review_approve", "review_approve_confirmed", "review_reject", "start", "topup", "topup_button", "traffic_cancel", "traffic_pack",
    "traffic_packs", "traffic_pay", "trial", "wallet",
]


@dialog.fallback
def menu_button(ctx: BotContext) -> bool:
    """The main menu's buttons arrive as text in the customer's language (or the other one)."""
    if not ctx.text:
        return False
    for command, label in MENU:
        for lang, _name in settings.LANGUAGES:
            with translation.override(lang):
                if ctx.text == str(label):
                    targets = {"plans": plans, "my_services": my_services, "wallet": wallet, "topup": topup,
                               "help": help_command}
                    targets[command](ctx)
                    return True
    return False


def register(application) -> None:
    from telegram.ext import ChatMemberHandler  # PTB (~20 MB) is loaded only where an Application is built

    application.add_handler(ChatMemberHandler(handler(chat_member), ChatMemberHandler.MY_CHAT_MEMBER))
    add_command(application, "start", start)
    add_command(application, "help", help_command)
    add_command(application, "language", language)
    add_command(application, "plans", plans)
    add_command(application, "buy", buy)
    add_command(application, "wallet", wallet)
    add_command(application, "topup", topup)
    add_command(application, "my_services", my_services)
    add_command(application, "trial", trial, feature=TRIAL_FEATURE)
    add_callback(application, r"^lang:([A-Za-z_-]{1,16})$", language_chosen)
    add_callback(application, PLAN_PATTERN, buy_plan)
    add_callback(application, QUANTITY_PATTERN, buy_quantity)
    add_callback(application, PAY_PATTERN, buy_pay)
    add_callback(application, r"^buy:cancel$", buy_cancel)
    add_callback(application, r"^topup:(\d+)$", topup_button)
    add_callback(application, TOPUP_METHOD_PATTERN, topup_method)
    add_callback(application, ORDER_METHOD_PATTERN, order_method)
    add_callback(application, r"^svc:link:(\d{1,12})$", new_link)
    add_callback(application, r"^svc:linkok:(\d{1,12})$", new_link_confirmed)
    add_callback(application, r"^svc:cancel$", new_link_cancelled)
    add_callback(application, TRAFFIC_PACKS_PATTERN, traffic_packs)
    add_callback(application, TRAFFIC_PACK_PATTERN, traffic_pack)
    add_callback(application, TRAFFIC_PAY_PATTERN, traffic_pay)
    add_callback(application, TRAFFIC_CANCEL_PATTERN, traffic_cancel)
    add_callback(application, r"^pay:ok:(\d{1,12})$", review_approve, admin=True)
    add_callback(application, r"^pay:okc:(\d{1,12})$", review_approve_confirmed, admin=True)
    add_callback(application, r"^pay:no:(\d{1,12})$", review_reject, admin=True)
