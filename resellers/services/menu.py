"""What the reseller menu in the bot needs beside the core: a reseller's wallet at a glance,
the plans they may sell at their price, what people type (quantities, labels, percentages,
amounts) read into clean values, operators promoting and demoting resellers and resellers
inviting sub-resellers with the person told in the bot, and the few reads the menu shows."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core import bounds
from vpnbot.core.numbers import latin_digits, parse_whole_number
from vpnbot.shop import messaging
from vpnbot.shop import selectors as shop_selectors
from vpnbot.shop.models import Customer, Plan

from ..models import Batch, Reseller, Token
from .buying import Purchase, _check_plan, _reseller_for_purchase, labels_for, reseller_quote
from .errors import ResellerError
from .management import reseller_demote, reseller_promote, sub_reseller_invite
from .statements import Figures, month_bounds, reseller_figures

MAX_LIST = 30  # resellers in one /resellers message


@dataclass
class Overview:
    reseller: Reseller
    balance_amount: int
    credit_limit_amount: int
    credit_used_amount: int
    available_amount: int  # balance + credit limit: what a purchase may take now
    is_frozen: bool
    accounts_running: int


def _running(now: dt.datetime) -> Q:
    return Q(accounts__subscription__status="active", accounts__subscription__expires_at__gt=now)


def reseller_overview(*, reseller: Reseller) -> Overview:
    """The reseller's wallet and accounts as the menu shows them (read fresh)."""
    customer = Customer.objects.get(pk=reseller.customer_id)
    running = (Reseller.objects.filter(pk=reseller.pk)
               .aggregate(n=Count("accounts", filter=_running(timezone.now())))["n"] or 0)
    return Overview(reseller=reseller, balance_amount=customer.balance_amount,
                    credit_limit_amount=customer.credit_limit_amount,
                    credit_used_amount=max(-customer.balance_amount, 0),
                    available_amount=customer.balance_amount + customer.credit_limit_amount,
                    is_frozen=reseller.is_frozen, accounts_running=running)


def resellers_overview(*, limit: int = MAX_LIST) -> tuple[list[tuple[Reseller, int]], int]:
    """Active resellers, newest first, each with their accounts running (at most `limit`),
    and how many active resellers there are in all."""
    qs = (Reseller.objects.filter(is_active=True).select_related("customer", "parent__customer")
          .annotate(running=Count("accounts", filter=_running(timezone.now()))).order_by("-id"))
    return [(r, r.running) for r in qs[:limit]], Reseller.objects.filter(is_active=True).count()


def reseller_can_buy(*, reseller_id: int) -> Reseller:
    """The reseller if they may buy or renew now; a ResellerError (switched off, demoted, frozen) otherwise."""
    return _reseller_for_purchase(reseller_id)


def plans_for_sale(*, reseller: Reseller) -> list[tuple[Plan, int]]:
    """The plans on sale this reseller may sell (none chosen = all), each with their price for one account."""
    plans = Plan.objects.filter(is_active=True).order_by("price_amount", "pk")
    allowed = list(reseller.plans.values_list("pk", flat=True))
    if allowed:
        plans = plans.filter(pk__in=allowed)
    return [(plan, reseller_quote(reseller=reseller, plan=plan).total_amount) for plan in plans]


def plan_for_sale(*, reseller: Reseller, plan_id) -> tuple[Plan, int]:
    """One plan this reseller may sell and their price for one account, or a ResellerError."""
    plan = _check_plan(reseller, plan_id)
    return plan, reseller_quote(reseller=reseller, plan=plan).total_amount


def quantities_offered() -> list[int]:
    """The quantity buttons: 1, 5, 10, 20, 50 up to RESELLER_MAX_BULK."""
    return [n for n in (1, 5, 10, 20, 50) if n <= settings.RESELLER_MAX_BULK] or [1]


def parse_quantity(text) -> int:
    """How many accounts a reseller typed: 1 to RESELLER_MAX_BULK, or a ResellerError."""
    number = parse_whole_number(str(text or ""), max_digits=6)
    if number is None or not 1 <= number <= settings.RESELLER_MAX_BULK:
        raise ResellerError(_("You can buy 1 to %(max)s accounts at once.") % {"max": settings.RESELLER_MAX_BULK})
    return number


def parse_labels(text: str, quantity: int) -> list[str]:
    """One label per line (one per account), or one label that numbers them (“Ali 1”, “Ali 2”…)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise ResellerError(_("A label cannot be empty."))
    return labels_for(lines, quantity)


def parse_percent_bp(text: str) -> int:
    """A percentage as people type it (10, 12.5, 15%, Persian digits) in basis points, 0 to 100%."""
    number = latin_digits(str(text or "")).strip().rstrip("%").strip()
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", number):
        raise ResellerError(_("“%(text)s” is not a percentage (e.g. 10 or 12.5).") % {"text": str(text)[:20]})
    bp = round(float(number) * 100)
    if not 0 <= bp <= bounds.BASIS_POINTS:
        raise ResellerError(_("A percentage is from 0 to 100."))
    return bp


def parse_amount(text: str) -> int:
    """An amount as people type it (commas allowed, Persian digits): 0 to the largest amount."""
    number = parse_whole_number(latin_digits(str(text or "")).replace(",", "").replace("_", ""), max_digits=13)
    if number is None or not 0 <= number <= bounds.MAX_AMOUNT:
        raise ResellerError(_("“%(text)s” is not an amount (a whole number from 0 to %(max)s).")
                            % {"text": str(text)[:20], "max": f"{bounds.MAX_AMOUNT:,}"})
    return number


def customer_lookup(query: str) -> Customer:
    """The shop's customer with this Telegram id or @username, or a ResellerError."""
    query = (query or "").strip()
    number = latin_digits(query)
    if not (query.startswith("@") and len(query) > 1) and not (number.isascii() and number.isdigit()):
        raise ResellerError(_("“%(text)s” is neither a Telegram id nor an @username.") % {"text": query[:40]})
    customer = shop_selectors.customer_find(number if number.isdigit() else query)
    if customer is None:
        raise ResellerError(_("No customer of the shop is %(text)s: they must start the bot first.")
                            % {"text": query[:40]})
    return customer


def reseller_add(*, query: str, discount_bp: int, credit_limit_amount: int = 0, by: str) -> Reseller:
    """An operator makes a customer (Telegram id or @username) a reseller; the customer is told in the bot."""
    customer = customer_lookup(query)
    with transaction.atomic():
        reseller = reseller_promote(customer_id=customer.pk, by=by, discount_bp=discount_bp,
                                    credit_limit_amount=credit_limit_amount)
        messaging.notify_customer(customer, kind="reseller_promoted", text=lambda: _(
            "🤝 You are now a reseller of this shop! Open /reseller to buy accounts for your customers at your "
            "price, see them, renew them and follow your sales."))
    return reseller


def sub_reseller_add(*, parent: Reseller, query: str, markup_bp: int) -> Reseller:
    """A reseller invites a customer of the shop as their sub-reseller; the customer is told in the bot."""
    customer = customer_lookup(query)
    with transaction.atomic():
        reseller = sub_reseller_invite(parent_id=parent.pk, customer_id=customer.pk, markup_bp=markup_bp)
        name = html.escape(str(parent.customer))
        messaging.notify_customer(customer, kind="reseller_promoted", text=lambda: _(
            "🤝 %(parent)s made you a reseller of this shop! Open /reseller to buy accounts for your customers, "
            "see them, renew them and follow your sales.") % {"parent": name})
    return reseller


def reseller_to_remove(*, query: str) -> Reseller:
    """The active reseller behind a Telegram id or @username, or a ResellerError."""
    customer = customer_lookup(query)
    reseller = Reseller.objects.select_related("customer").filter(customer=customer, is_active=True).first()
    if reseller is None:
        raise ResellerError(_("%(customer)s is not a reseller.") % {"customer": customer})
    return reseller


def reseller_remove(*, reseller_id: int, by: str) -> Reseller:
    """An operator demotes a reseller; they are told in the bot (once: demoting again does nothing)."""
    with transaction.atomic():
        was_active = Reseller.objects.filter(pk=reseller_id, is_active=True).exists()
        reseller = reseller_demote(reseller_id=reseller_id, by=by)
        if was_active:
            messaging.notify_customer(reseller.customer, kind="reseller_demoted", text=lambda: _(
                "You are no longer a reseller of this shop. The accounts you bought keep running until they end. "
                "Please contact the shop with any question."))
    return reseller


def purchase_find(*, reseller_id: int, idempotency_key: str) -> Purchase | None:
    """The reseller's purchase made with this key, if any (a Pay button pressed again)."""
    batch = Batch.objects.filter(idempotency_key=idempotency_key, reseller_id=reseller_id).first()
    if batch is None:
        return None
    return Purchase(batch, list(batch.accounts.select_related("subscription").order_by("pk")), False)


def tokens_active(*, reseller_id: int) -> list[Token]:
    return list(Token.objects.filter(reseller_id=reseller_id, revoked_at__isnull=True).order_by("pk"))


def month_figures(*, reseller: Reseller, now: dt.datetime | None = None) -> Figures:
    """This month's figures (the shop's time zone)."""
    local = timezone.localtime(now or timezone.now())
    start, end = month_bounds(local.year, local.month)
    return reseller_figures(reseller=reseller, start=start, end=end)


def sub_resellers_figures(*, reseller: Reseller, now: dt.datetime | None = None) -> list[tuple[Reseller, Figures]]:
    """The reseller's active sub-resellers, each with this month's figures."""
    subs = Reseller.objects.select_related("customer").filter(parent=reseller, is_active=True).order_by("pk")
    return [(sub, month_figures(reseller=sub, now=now)) for sub in subs[:MAX_LIST]]
