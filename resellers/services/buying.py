"""A reseller buys accounts (one or many, all or none) and renews them, paid from their wallet
within their credit limit; the parent of a sub-reseller earns a commission on it, once."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core.bounds import BASIS_POINTS
from vpnbot.shop import pricing
from vpnbot.shop.models import Customer, Order, Plan, Subscription, WalletTransaction
from vpnbot.shop.services import (
    InsufficientBalance,
    QuoteChanged,
    check_order_terms,
    order_place_paid,
    plan_get_active,
    validate_quantity,
    wallet_apply,
)

from ..models import Account, Batch, Commission, Reseller
from .errors import NotFound, ResellerError

MAX_LABEL = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Purchase:
    batch: Batch
    accounts: list[Account]
    created: bool  # False: this idempotency key had bought already


def clean_label(value: str) -> str:
    """A label as kept: one line, trimmed, at most 64 characters; a ResellerError when empty."""
    label = _CONTROL.sub(" ", str(value or "")).strip()
    if not label:
        raise ResellerError(_("A label cannot be empty."))
    if len(label) > MAX_LABEL:
        raise ResellerError(_("A label is at most %(max)s characters.") % {"max": MAX_LABEL})
    return label


def labels_for(labels, quantity: int) -> list[str]:
    """One label per account: a list of `quantity` labels, or one label numbered (“Ali 1”,
    “Ali 2”, …) when several accounts are bought, or none (numbered by the date)."""
    if isinstance(labels, (list, tuple)):
        cleaned = [clean_label(x) for x in labels]
        if len(cleaned) == quantity:
            return cleaned
        if len(cleaned) != 1:
            raise ResellerError(_("Give one label per account (%(quantity)s), or one label for all of them.")
                                % {"quantity": quantity})
        labels = cleaned[0]
    base = clean_label(labels) if labels not in (None, "") else timezone.localdate().strftime("%m%d")
    if quantity == 1:
        return [base]
    width = len(str(quantity))
    return [clean_label(f"{base[:MAX_LABEL - width - 1]} {i}") for i in range(1, quantity + 1)]


def _reseller_for_purchase(reseller_id: int) -> Reseller:
    if not settings.ENABLE_RESELLERS:
        raise ResellerError(_("The shop does not work with resellers now."))
    reseller = Reseller.objects.select_related("customer", "parent__customer").filter(pk=reseller_id).first()
    if reseller is None or not reseller.is_active:
        raise ResellerError(_("You are not a reseller of this shop."))
    if reseller.is_frozen:
        raise ResellerError(_("Your reseller account is frozen: purchases and renewals are paused. Please contact "
                              "the shop."))
    return reseller


def _check_plan(reseller: Reseller, plan_id) -> Plan:
    plan = plan_get_active(plan_id)
    allowed = list(reseller.plans.values_list("pk", flat=True))
    if allowed and plan.pk not in allowed:
        raise ResellerError(_("You may not sell the %(plan)s plan. Please contact the shop.") % {"plan": plan.name})
    return plan


def _check_daily_limit(reseller: Reseller, quantity: int, now: dt.datetime) -> None:
    if not reseller.daily_account_limit:
        return
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    made = Account.objects.filter(reseller=reseller, created_at__gte=start).count()
    left = max(reseller.daily_account_limit - made, 0)
    if quantity > left:
        raise ResellerError(_("You may make %(limit)s accounts a day; %(left)s more today.")
                            % {"limit": reseller.daily_account_limit, "left": left})


def _check_funds(customer: Customer, total: int) -> None:
    """InsufficientBalance unless the wallet (with the credit limit) covers total."""
    floor = -customer.credit_limit_amount
    if customer.balance_amount - total < floor:
        raise InsufficientBalance(floor - (customer.balance_amount - total))


def commission_credit(*, order, sub_reseller: Reseller) -> Commission | None:
    """Inside the purchase's transaction: the parent's commission on a sub-reseller's order,
    once per order (ledger source commission:<order>)."""
    parent = sub_reseller.parent
    if parent is None or not parent.is_active or not sub_reseller.commission_bp or order.paid_amount <= 0:
        return None
    amount = order.paid_amount * min(sub_reseller.commission_bp, BASIS_POINTS) // BASIS_POINTS
    if amount <= 0:
        return None
    commission = Commission.objects.create(reseller=parent, sub_reseller=sub_reseller, order=order, amount=amount)
    wallet_apply(customer_id=parent.customer_id, amount=amount, reason=WalletTransaction.Reason.COMMISSION,
                 source=f"commission:{order.pk}", note=_("Commission on order #%(id)s") % {"id": order.pk})
    return commission


def reseller_quote(*, reseller: Reseller, plan: Plan, periods: int = 1, at: dt.datetime | None = None) -> pricing.Quote:
    """What one account of `plan` for `periods` costs this reseller now."""
    return pricing.price_quote(reseller.customer, plan, periods, at, resale=True)


def reseller_buy(*, reseller_id: int, plan_id, quantity: int, idempotency_key: str, labels=None, periods: int = 1,
                 expected_total: int | None = None, now: dt.datetime | None = None) -> Purchase:
    """Buy `quantity` accounts of a plan for `periods` each: all or none, in one transaction,
    once per idempotency key. The wallet may go below zero down to the credit limit."""
    max_bulk = settings.RESELLER_MAX_BULK
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise ResellerError(_("The number of accounts must be a whole number.")) from None
    if not 1 <= quantity <= max_bulk:
        raise ResellerError(_("You can buy 1 to %(max)s accounts at once.") % {"max": max_bulk})
    periods = validate_quantity(periods)
    if not idempotency_key or len(idempotency_key) > 80:
        raise ResellerError(_("This purchase has no valid idempotency key."))
    existing = _existing(reseller_id, idempotency_key)
    if existing:
        return existing
    reseller = _reseller_for_purchase(reseller_id)
    plan = _check_plan(reseller, plan_id)
    check_order_terms(plan, periods)
    names = labels_for(labels, quantity)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            customer = Customer.objects.select_for_update().get(pk=reseller.customer_id)
            existing = _existing(reseller_id, idempotency_key)
            if existing:
                return existing
            reseller = _reseller_for_purchase(reseller_id)  # frozen or demoted meanwhile
            _check_daily_limit(reseller, quantity, now)
            quote = reseller_quote(reseller=reseller, plan=plan, periods=periods, at=now)
            unit = quote.total_amount
            if expected_total is not None and unit * quantity != expected_total:
                raise QuoteChanged(quote)
            _check_funds(customer, unit * quantity)
            batch = Batch.objects.create(reseller=reseller, plan=plan, quantity=quantity, periods=periods,
                                         unit_amount=unit, total_amount=unit * quantity,
                                         idempotency_key=idempotency_key, created_at=now)
            accounts = []
            for number, label in enumerate(names, start=1):
                order, subscription = order_place_paid(
                    customer=customer, plan=plan, quote=quote, idempotency_key=f"rs:{batch.pk}:{number}",
                    resale_label=label, allow_credit=True, now=now)
                accounts.append(Account.objects.create(reseller=reseller, label=label, batch=batch,
                                                       first_subscription=subscription, subscription=subscription,
                                                       created_at=now))
                commission_credit(order=order, sub_reseller=reseller)
    except IntegrityError:
        existing = _existing(reseller_id, idempotency_key)
        if existing:
            return existing
        raise
    return Purchase(batch, accounts, True)


def _existing(reseller_id: int, idempotency_key: str) -> Purchase | None:
    batch = Batch.objects.filter(idempotency_key=idempotency_key).first()
    if batch is None:
        return None
    if batch.reseller_id != reseller_id:
        raise ResellerError(_("This idempotency key was used for another purchase."))
    return Purchase(batch, list(batch.accounts.select_related("subscription").order_by("pk")), False)


def reseller_renew(*, reseller_id: int, account_id, idempotency_key: str, periods: int = 1,
                   expected_total: int | None = None, now: dt.datetime | None = None) -> tuple[Account, bool]:
    """Renew one of the reseller's accounts with its plan for `periods`: from its end if it is
    still running, else from now on the same account. Once per idempotency key; returns the
    account and whether this call renewed it."""
    periods = validate_quantity(periods)
    if not idempotency_key or len(idempotency_key) > 80:
        raise ResellerError(_("This renewal has no valid idempotency key."))
    key = f"rsr:{reseller_id}:{idempotency_key}"
    account = account_of(reseller_id=reseller_id, account_id=account_id)
    if Order.objects.filter(idempotency_key=key).exists():
        return account, False
    reseller = _reseller_for_purchase(reseller_id)
    if account.subscription.status == Subscription.Status.CANCELLED:
        raise ResellerError(_("Account “%(label)s” was refunded: buy a new one instead.") % {"label": account.label})
    plan = _check_plan(reseller, account.subscription.plan_id)
    check_order_terms(plan, periods)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            customer = Customer.objects.select_for_update().get(pk=reseller.customer_id)
            if Order.objects.filter(idempotency_key=key).exists():
                return account_of(reseller_id=reseller_id, account_id=account_id), False
            reseller = _reseller_for_purchase(reseller_id)
            account = Account.objects.select_for_update().select_related("subscription").get(pk=account.pk)
            quote = reseller_quote(reseller=reseller, plan=plan, periods=periods, at=now)
            if expected_total is not None and quote.total_amount != expected_total:
                raise QuoteChanged(quote)
            _check_funds(customer, quote.total_amount)
            order, subscription = order_place_paid(customer=customer, plan=plan, quote=quote, idempotency_key=key,
                                                   renew=account.subscription, allow_credit=True, now=now)
            Account.objects.filter(pk=account.pk).update(subscription=subscription)
            account.subscription = subscription
            commission_credit(order=order, sub_reseller=reseller)
    except IntegrityError:
        if Order.objects.filter(idempotency_key=key).exists():
            return account_of(reseller_id=reseller_id, account_id=account_id), False
        raise
    return account, True


def account_of(*, reseller_id: int, account_id) -> Account:
    """The reseller's own account, or NotFound (another reseller's id is not found either)."""
    try:
        account_id = int(account_id)
    except (TypeError, ValueError):
        raise NotFound(_("There is no such account.")) from None
    account = (Account.objects.select_related("subscription__plan", "batch", "reseller__customer")
               .filter(pk=account_id, reseller_id=reseller_id).first())
    if account is None:
        raise NotFound(_("There is no such account."))
    return account
