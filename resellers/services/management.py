"""What operators do with resellers: promote a customer (with a tier, prices, a credit limit
and a parent), change them, demote them; a reseller invites a sub-reseller; API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core import bounds
from vpnbot.shop.models import Customer, Plan

from ..models import Reseller, ResellerPrice, Token
from .errors import ResellerError

TOKEN_PREFIX = "rsk_"  # noqa: S105 - a marker, not a secret
UNSET = object()  # reseller_update: the parent is left as it is
EDITABLE = ("discount_bp", "markup_bp", "commission_bp", "floor_bp", "daily_account_limit", "is_frozen", "note")


def _depth(reseller: Reseller | None) -> int:
    depth = 0
    while reseller is not None and depth <= 20:
        depth += 1
        reseller = reseller.parent
    return depth


def _check_parent(reseller: Reseller | None, parent: Reseller | None) -> None:
    if parent is None:
        return
    if not parent.is_active:
        raise ResellerError(_("The parent reseller was demoted."))
    node = parent
    while node is not None:
        if reseller is not None and node.pk == reseller.pk:
            raise ResellerError(_("A reseller cannot be under themselves or their own sub-reseller."))
        node = node.parent
    if _depth(parent) > settings.RESELLER_MAX_DEPTH:
        raise ResellerError(_("Sub-resellers go %(depth)s level(s) deep at most: %(parent)s cannot have their own.")
                            % {"depth": settings.RESELLER_MAX_DEPTH, "parent": parent})


def _set_credit_limit(customer_id: int, credit_limit_amount: int) -> None:
    """Under the wallet's lock: the limit may not be set under what is already owed."""
    if not 0 <= credit_limit_amount <= bounds.MAX_AMOUNT:
        raise ResellerError(_("The credit limit must be between 0 and %(max)s.") % {"max": f"{bounds.MAX_AMOUNT:,}"})
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    owed = max(-customer.balance_amount, 0)
    if credit_limit_amount < owed:
        raise ResellerError(_("The credit limit cannot be under what this reseller owes now (%(owed)s).")
                            % {"owed": f"{owed:,}"})
    Customer.objects.filter(pk=customer_id).update(credit_limit_amount=credit_limit_amount)


def _validate(reseller: Reseller) -> None:
    try:
        bounds.check(reseller, *EDITABLE)
    except ValidationError as exc:
        raise ResellerError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None


def _set_prices(reseller: Reseller, prices: dict[int, int | None]) -> None:
    """{plan id: price per period, or None to drop it}."""
    for plan_id, price in prices.items():
        if not Plan.objects.filter(pk=plan_id).exists():
            raise ResellerError(_("There is no plan #%(id)s.") % {"id": plan_id})
        if price is None:
            ResellerPrice.objects.filter(reseller=reseller, plan_id=plan_id).delete()
            continue
        if not isinstance(price, int) or not 0 <= price <= bounds.MAX_AMOUNT:
            raise ResellerError(_("A price must be a whole amount from 0 to %(max)s.") % {"max": f"{bounds.MAX_AMOUNT:,}"})
        ResellerPrice.objects.update_or_create(reseller=reseller, plan_id=plan_id, defaults={"price_amount": price})


def reseller_promote(*, customer_id: int, by: str, parent_id: int | None = None, discount_bp: int = 0,
                     prices: dict[int, int | None] | None = None, credit_limit_amount: int = 0, **fields) -> Reseller:
    """Make a customer a reseller (or a demoted one active again, with these terms)."""
    unknown = set(fields) - set(EDITABLE) - {"plan_ids"}
    if unknown:
        raise ResellerError(_("Unknown fields: %(names)s") % {"names": ", ".join(sorted(unknown))})
    plan_ids = fields.pop("plan_ids", None)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer is None:
            raise ResellerError(_("There is no such customer."))
        parent = Reseller.objects.select_related("parent").filter(pk=parent_id).first() if parent_id else None
        if parent_id and parent is None:
            raise ResellerError(_("There is no reseller #%(id)s.") % {"id": parent_id})
        reseller = Reseller.objects.filter(customer=customer).first()
        if reseller is not None and reseller.is_active:
            raise ResellerError(_("%(customer)s is a reseller already.") % {"customer": customer})
        _check_parent(reseller, parent)
        if reseller is None:
            reseller = Reseller(customer=customer)
        reseller.parent = parent
        reseller.is_active, reseller.demoted_at = True, None
        reseller.discount_bp = discount_bp
        if parent is not None and "commission_bp" not in fields:
            reseller.commission_bp = settings.RESELLER_DEFAULT_COMMISSION_BP
        for name, value in fields.items():
            setattr(reseller, name, value)
        _validate(reseller)
        try:
            reseller.save()
        except IntegrityError:
            raise ResellerError(_("%(customer)s is a reseller already.") % {"customer": customer}) from None
        _set_prices(reseller, prices or {})
        if plan_ids is not None:
            reseller.plans.set(_plans(plan_ids))
        _set_credit_limit(customer.pk, credit_limit_amount)
    return reseller


def _plans(plan_ids) -> list[Plan]:
    plans = list(Plan.objects.filter(pk__in=plan_ids))
    if len(plans) != len(set(plan_ids)):
        raise ResellerError(_("Some of these plans do not exist."))
    return plans


def reseller_update(*, reseller_id: int, by: str, prices: dict[int, int | None] | None = None,
                    credit_limit_amount: int | None = None, parent_id=UNSET, **fields) -> Reseller:
    """Change a reseller's terms: any of EDITABLE, prices, plan_ids, credit limit, parent."""
    unknown = set(fields) - set(EDITABLE) - {"plan_ids"}
    if unknown:
        raise ResellerError(_("Unknown fields: %(names)s") % {"names": ", ".join(sorted(unknown))})
    plan_ids = fields.pop("plan_ids", None)
    with transaction.atomic():
        # not select_related("parent"): a nullable join (LEFT OUTER) cannot be locked on PostgreSQL
        reseller = Reseller.objects.select_for_update().select_related("customer").filter(pk=reseller_id).first()
        if reseller is None:
            raise ResellerError(_("There is no reseller #%(id)s.") % {"id": reseller_id})
        if parent_id is not UNSET:
            parent = Reseller.objects.select_related("parent").filter(pk=parent_id).first() if parent_id else None
            if parent_id and parent is None:
                raise ResellerError(_("There is no reseller #%(id)s.") % {"id": parent_id})
            _check_parent(reseller, parent)
            if reseller.children.exists() and parent is not None and _depth(parent) + 1 > settings.RESELLER_MAX_DEPTH:
                raise ResellerError(_("This reseller has sub-resellers: they would be too deep under a parent."))
            reseller.parent = parent
        for name, value in fields.items():
            setattr(reseller, name, value)
        _validate(reseller)
        reseller.save()
        if prices:
            _set_prices(reseller, prices)
        if plan_ids is not None:
            reseller.plans.set(_plans(plan_ids))
        if credit_limit_amount is not None:
            _set_credit_limit(reseller.customer_id, credit_limit_amount)
    return reseller


def reseller_demote(*, reseller_id: int, by: str) -> Reseller:
    """No longer a reseller: cannot buy or renew as one, tokens revoked. Their accounts keep
    running until they end; what they owe stays owed (the credit limit shrinks to it)."""
    with transaction.atomic():
        reseller = Reseller.objects.select_for_update().select_related("customer").filter(pk=reseller_id).first()
        if reseller is None:
            raise ResellerError(_("There is no reseller #%(id)s.") % {"id": reseller_id})
        if not reseller.is_active:
            return reseller
        now = timezone.now()
        Reseller.objects.filter(pk=reseller.pk).update(is_active=False, demoted_at=now)
        Token.objects.filter(reseller=reseller, revoked_at__isnull=True).update(revoked_at=now)
        customer = Customer.objects.select_for_update().get(pk=reseller.customer_id)
        Customer.objects.filter(pk=customer.pk).update(credit_limit_amount=max(-customer.balance_amount, 0))
        reseller.is_active, reseller.demoted_at = False, now
    return reseller


def sub_reseller_invite(*, parent_id: int, customer_id: int, markup_bp: int) -> Reseller:
    """A reseller makes one of the shop's customers their sub-reseller, at their price plus markup."""
    parent = Reseller.objects.filter(pk=parent_id, is_active=True).first()
    if parent is None:
        raise ResellerError(_("You are not a reseller of this shop."))
    if customer_id == parent.customer_id:
        raise ResellerError(_("You cannot be your own sub-reseller."))
    return reseller_promote(customer_id=customer_id, by=f"reseller:{parent.pk}", parent_id=parent.pk,
                            markup_bp=markup_bp)


# --- tokens -----------------------------------------------------------------------------------------

def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(*, reseller_id: int, name: str = "") -> tuple[Token, str]:
    """A new API key for the reseller: (the row, the key). The key is not kept: show it once."""
    reseller = Reseller.objects.filter(pk=reseller_id).first()
    if reseller is None or not reseller.is_active:
        raise ResellerError(_("Only an active reseller can have API tokens."))
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = Token.objects.create(reseller=reseller, name=(name or "").strip()[:64], key_hash=token_hash(key),
                                 prefix=key[:12])
    return token, key


def token_revoke(*, token_id: int, reseller_id: int | None = None) -> Token:
    token = Token.objects.filter(pk=token_id, **({"reseller_id": reseller_id} if reseller_id else {})).first()
    if token is None:
        raise ResellerError(_("There is no such token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        Token.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
    return token


def token_authenticate(key: str) -> Token | None:
    """The active token of an active reseller with this key, or None."""
    if not key or not key.startswith(TOKEN_PREFIX) or len(key) > 100:
        return None
    token = (Token.objects.select_related("reseller__customer")
             .filter(key_hash=token_hash(key), revoked_at__isnull=True, reseller__is_active=True).first())
    if token is not None and (token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60):
        Token.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token
