"""The reseller's accounts in the bot: rs:accs:<page> (8 a page), a search (rs:find, then the
text; its pages rs:fp:<page>), one account (rs:acc:<id>: status, expiry, usage, config), its
renewal (rs:ren:<id>, then rs:rok:<id>:<total>:<key>) and switching it off or on
(rs:off:<id>, rs:on:<id>). Every id goes through the reseller's own accounts."""

from __future__ import annotations

import secrets

from django.utils.html import escape
from django.utils.translation import gettext as _

from vpnbot.shop.formatting import config_fits_message, config_html, format_date, gigabytes, money
from vpnbot.shop.services import InsufficientBalance, QuoteChanged
from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext

from .. import selectors, services
from .common import as_reseller, back_to_menu, short_of_money

SEARCH, FOUND = "rs_search", "rs_found"  # FOUND has no step: it only keeps the search for its pages


def status_label(status: str) -> str:
    return {"active": _("🟢 active"), "disabled": _("⛔ switched off"), "expired": _("⌛ expired"),
            "refunded": _("↩️ refunded"), "pending": _("⏳ being prepared"),
            "failed": _("⚠️ failed (the shop was told)")}.get(status, status)


def _page(ctx: BotContext, reseller, page: int, search: str = "") -> None:
    accounts, pages = selectors.accounts_page(reseller.pk, page=page, search=search)
    page = min(max(page, 1), pages)
    usages = {u.account.pk: u for u in services.accounts_usage(accounts)}
    if search:
        title = _("🔎 Accounts matching “%(q)s” (page %(page)s of %(pages)s)") % {"q": search, "page": page,
                                                                                  "pages": pages}
    else:
        title = _("📋 Your accounts (page %(page)s of %(pages)s)") % {"page": page, "pages": pages}
    lines = [title, ""]
    if not accounts:
        lines.append(_("No accounts found.") if search else _("You have no accounts yet: buy some with 🛒 Buy accounts."))
    rows = []
    for account in accounts:
        usage = usages[account.pk]
        lines.append(f"#{account.pk} {account.label} — {account.subscription.plan.name} — {status_label(usage.status)}")
        rows.append([(f"#{account.pk} {account.label}"[:48], f"rs:acc:{account.pk}")])
    prefix = "rs:fp" if search else "rs:accs"
    nav = []
    if page > 1:
        nav.append((_("◀️ Previous"), f"{prefix}:{page - 1}"))
    if page < pages:
        nav.append((_("Next ▶️"), f"{prefix}:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append([(_("🔎 Search"), "rs:find"), back_to_menu()[0]])
    ctx.edit("\n".join(lines), buttons=rows, parse_mode=None)


@as_reseller
def accounts(ctx: BotContext, reseller) -> None:
    """rs:accs:<page>"""
    _page(ctx, reseller, int(ctx.match.group(1)))


@as_reseller
def search(ctx: BotContext, reseller) -> None:
    """rs:find: what to look for?"""
    dialog.dialog_start(user_id=ctx.user_id, name=SEARCH)
    ctx.answer()
    ctx.reply(_("🔎 Send part of a label or an account number. /cancel to stop."), parse_mode=None)


@dialog.step(SEARCH)
@as_reseller
def receive_search(ctx: BotContext, reseller, data: dict) -> None:
    term = (ctx.text or "").strip()[:64]
    if not term:
        ctx.reply(_("Please send part of a label or an account number as text. /cancel to stop."), parse_mode=None)
        return
    dialog.dialog_start(user_id=ctx.user_id, name=FOUND, data={"q": term})
    _page(ctx, reseller, 1, search=term)


@as_reseller
def search_page(ctx: BotContext, reseller) -> None:
    """rs:fp:<page>: a page of the last search."""
    state = dialog.dialog_get(user_id=ctx.user_id)
    if not state or state[0] != FOUND:
        ctx.answer()
        ctx.edit(_("This search has expired. Please search again."), parse_mode=None,
                 buttons=[[(_("🔎 Search"), "rs:find"), (_("📋 My accounts"), "rs:accs:1")]])
        return
    dialog.dialog_start(user_id=ctx.user_id, name=FOUND, data=state[1])
    _page(ctx, reseller, int(ctx.match.group(1)), search=state[1].get("q", ""))


def _usage_text(usage) -> str:
    if usage.used_bytes is None or usage.limit_bytes is None:
        return _("unknown")
    if usage.limit_bytes == 0:
        return _("%(used)s GB of unlimited") % {"used": gigabytes(usage.used_bytes)}
    return _("%(used)s / %(limit)s GB") % {"used": gigabytes(usage.used_bytes), "limit": gigabytes(usage.limit_bytes)}


def _view(ctx: BotContext, reseller, account_id, note: str = "") -> None:
    usage = services.account_usage(reseller_id=reseller.pk, account_id=account_id)
    account = usage.account
    lines = ([escape(note), ""] if note else []) + [
        _("👤 Account #%(id)s: %(label)s") % {"id": account.pk, "label": escape(account.label)},
        _("Plan: %(plan)s") % {"plan": escape(account.subscription.plan.name)},
        _("Status: %(status)s") % {"status": status_label(usage.status)},
        _("Expires: %(date)s") % {"date": format_date(usage.expires_at, ctx.customer)},
        _("Usage: %(usage)s") % {"usage": _usage_text(usage)}]
    config = usage.subscription_url
    long_config = False
    if not config:
        lines.append(_("Its config is being prepared: it comes here when it is ready."))
    elif config_fits_message(config):
        lines.append(_("Config:") + "\n<code>" + config_html(config) + "</code>")
    else:
        long_config = True
        lines.append(_("Its config is in the file below."))
    rows = []
    if usage.status not in ("refunded",):
        rows.append([(_("🔄 Renew"), f"rs:ren:{account.pk}")])
    if account.disabled_at:
        rows.append([(_("✅ Switch on"), f"rs:on:{account.pk}")])
    elif usage.status in ("active", "pending"):
        rows.append([(_("⛔ Switch off"), f"rs:off:{account.pk}")])
    rows.append([(_("⬅️ Back"), "rs:accs:1")])
    ctx.edit("\n".join(lines), buttons=rows)
    if long_config:
        ctx.reply_document(f"account-{account.pk}.txt", config.encode(),
                           caption=_("Config of account #%(id)s") % {"id": account.pk})


@as_reseller
def account(ctx: BotContext, reseller) -> None:
    """rs:acc:<id>"""
    _view(ctx, reseller, ctx.match.group(1))


@as_reseller
def switch_off(ctx: BotContext, reseller) -> None:
    """rs:off:<id>"""
    account = services.account_set_enabled(reseller_id=reseller.pk, account_id=ctx.match.group(1), enabled=False)
    _view(ctx, reseller, account.pk, note=_("Switched off: it stops working until you switch it on."))


@as_reseller
def switch_on(ctx: BotContext, reseller) -> None:
    """rs:on:<id>"""
    account = services.account_set_enabled(reseller_id=reseller.pk, account_id=ctx.match.group(1), enabled=True)
    _view(ctx, reseller, account.pk, note=_("Switched on."))


def _renew_confirm(ctx: BotContext, reseller, account, note: str = "") -> None:
    plan = account.subscription.plan
    total = services.reseller_quote(reseller=reseller, plan=plan).total_amount
    key = secrets.token_hex(6)
    lines = ([note, ""] if note else []) + [
        _("🔄 Renew account #%(id)s “%(label)s” with %(plan)s (%(days)s days) for %(amount)s?") % {
            "id": account.pk, "label": account.label, "plan": plan.name, "days": plan.duration_days,
            "amount": money(total)},
        _("It now ends on %(date)s.") % {"date": format_date(account.subscription.expires_at, ctx.customer)}]
    ctx.edit("\n".join(lines), parse_mode=None, buttons=[
        [(_("✅ Renew for %(amount)s") % {"amount": money(total)}, f"rs:rok:{account.pk}:{total}:{key}")],
        [(_("✖️ Cancel"), f"rs:acc:{account.pk}")]])


@as_reseller
def renew(ctx: BotContext, reseller) -> None:
    """rs:ren:<id>: are you sure, at this price?"""
    account = services.account_of(reseller_id=reseller.pk, account_id=ctx.match.group(1))
    _renew_confirm(ctx, reseller, account)


@as_reseller
def renew_confirmed(ctx: BotContext, reseller) -> None:
    """rs:rok:<id>:<total>:<key>: renew once per key."""
    account_id, total, key = ctx.match.groups()
    try:
        account, renewed = services.reseller_renew(reseller_id=reseller.pk, account_id=account_id,
                                                   idempotency_key=f"tg:{key}", expected_total=int(total))
    except InsufficientBalance as exc:
        short_of_money(ctx, exc.missing, _("Your wallet and credit are short by %(amount)s: nothing was renewed. Top "
                                           "up with /topup, then renew again."), (_("⬅️ Back"), f"rs:acc:{account_id}"))
        return
    except QuoteChanged:
        account = services.account_of(reseller_id=reseller.pk, account_id=account_id)
        _renew_confirm(ctx, reseller, account, note=_("The price changed since you saw it."))
        return
    if not renewed:
        ctx.answer(_("This renewal is already done."), alert=True)
        return
    _view(ctx, reseller, account.pk, note=_("✅ Renewed until %(date)s.") % {
        "date": format_date(account.subscription.expires_at, ctx.customer)})
