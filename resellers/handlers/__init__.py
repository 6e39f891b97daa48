"""Resellers in the bot: the reseller's menu (/reseller), buying accounts in bulk, their
accounts (list, search, renew, switch off/on), sub-resellers (/sub_reseller), this month's
figures, API tokens, and the operators' /resellers, /add_reseller, /remove_reseller.
Callback data: rs:<what>[:<id>…], every id checked against the caller's own reseller."""

from __future__ import annotations

from vpnbot.transport.bot import add_callback, add_command

from . import accounts, buying, menu, operators
from .common import FEATURE

ID = r"(\d{1,12})"


def register(application) -> None:
    add_command(application, "reseller", menu.reseller_command, feature=FEATURE)
    add_command(application, "sub_reseller", menu.sub_reseller_command, feature=FEATURE)
    add_command(application, "skip", buying.skip, feature=FEATURE)
    add_callback(application, r"^rs:menu$", menu.menu_button, feature=FEATURE)
    add_callback(application, r"^rs:subs$", menu.sub_resellers, feature=FEATURE)
    add_callback(application, r"^rs:month$", menu.this_month, feature=FEATURE)
    add_callback(application, r"^rs:api$", menu.api_tokens, feature=FEATURE)
    add_callback(application, r"^rs:tnew$", menu.token_new, feature=FEATURE)
    add_callback(application, r"^rs:tok$", menu.token_made, feature=FEATURE)
    add_callback(application, rf"^rs:trev:{ID}$", menu.token_revoked, feature=FEATURE)
    add_callback(application, r"^rs:buy$", buying.buy, feature=FEATURE)
    add_callback(application, rf"^rs:p:{ID}$", buying.buy_plan, feature=FEATURE)
    add_callback(application, rf"^rs:q:{ID}:(\d{{1,6}})$", buying.buy_quantity, feature=FEATURE)
    add_callback(application, r"^rs:pay:([0-9a-f]{12})$", buying.pay, feature=FEATURE)
    add_callback(application, r"^rs:cancel$", buying.cancel, feature=FEATURE)
    add_callback(application, rf"^rs:file:{ID}$", buying.batch_file, feature=FEATURE)
    add_callback(application, r"^rs:accs:(\d{1,6})$", accounts.accounts, feature=FEATURE)
    add_callback(application, r"^rs:find$", accounts.search, feature=FEATURE)
    add_callback(application, r"^rs:fp:(\d{1,6})$", accounts.search_page, feature=FEATURE)
    add_callback(application, rf"^rs:acc:{ID}$", accounts.account, feature=FEATURE)
    add_callback(application, rf"^rs:off:{ID}$", accounts.switch_off, feature=FEATURE)
    add_callback(application, rf"^rs:on:{ID}$", accounts.switch_on, feature=FEATURE)
    add_callback(application, rf"^rs:ren:{ID}$", accounts.renew, feature=FEATURE)
    add_callback(application, rf"^rs:rok:{ID}:(\d{{1,15}}):([0-9a-f]{{12}})$", accounts.renew_confirmed, feature=FEATURE)
    add_command(application, "resellers", operators.resellers_list, admin=True, feature=FEATURE)
    add_command(application, "add_reseller", operators.add_reseller, admin=True, feature=FEATURE)
    add_command(application, "remove_reseller", operators.remove_reseller, admin=True, feature=FEATURE)
    add_callback(application, rf"^rs:rm:{ID}$", operators.remove_confirmed, admin=True, feature=FEATURE)
    add_callback(application, r"^rs:rmno$", operators.remove_cancelled, admin=True, feature=FEATURE)
