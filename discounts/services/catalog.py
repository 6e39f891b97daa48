"""Creating and managing discounts and cashback rules: admin-made and personal (CRM) offers,
promo codes with a generated code, pausing, resuming, and deleting or archiving."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop.models import Customer

from ..models import CashbackRule, DiscountUsage, SmartDiscount
from .rules import DiscountError, Kind

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def discount_create(*, kind: str, percent_bp: int | None = None, fixed_amount: int | None = None,
                    cap_amount: int | None = None, params: dict | None = None, conditions_tree: dict | None = None,
                    code: str | None = None, customer: Customer | None = None, starts_at: datetime | None = None,
                    ends_at: datetime | None = None, max_uses: int | None = None, per_customer_limit: int | None = 1,
                    priority: int = 0, stackable: bool = False, for_resellers: bool = False, title: str = "",
                    source: str = "admin",
                    created_by: str = "") -> SmartDiscount:
    discount = SmartDiscount(
        kind=kind, percent_bp=percent_bp, fixed_amount=fixed_amount, cap_amount=cap_amount, params=params or {},
        conditions=conditions_tree or {}, code=(code or None), customer=customer, starts_at=starts_at or timezone.now(),
        ends_at=ends_at, max_uses=max_uses, per_customer_limit=per_customer_limit, priority=priority,
        stackable=stackable, for_resellers=for_resellers, title=(title or "")[:100], source=source[:20], created_by=created_by[:100])
    discount.full_clean()
    try:
        with transaction.atomic():
            discount.save()
    except IntegrityError:
        raise ValidationError({"code": [_("This code is already used by another discount.")]}) from None
    return discount


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(8))


def discount_create_code(*, label: str, percent_bp: int | None = None, fixed_amount: int | None = None,
                         cap_amount: int | None = None, valid_until, customer=None, max_uses: int = 1,
                         per_customer_limit: int = 1, code: str | None = None, source: str = "crm") -> SmartDiscount:
    """A promo-code discount; with `customer`, a personal code only they can use. A unique
    code is generated when none is given."""
    terms = {"kind": Kind.CODE, "percent_bp": percent_bp, "fixed_amount": fixed_amount, "cap_amount": cap_amount,
             "customer": customer, "ends_at": valid_until, "max_uses": max_uses,
             "per_customer_limit": per_customer_limit, "title": label, "source": source}
    if code is not None:
        return discount_create(code=code, **terms)
    for _attempt in range(10):
        try:
            return discount_create(code=_new_code(), **terms)
        except ValidationError as exc:
            if "code" not in getattr(exc, "error_dict", {}):
                raise
    raise DiscountError(_("Could not generate a unique code; try again."))


def cashback_rule_create(*, percent_bp: int | None = None, fixed_amount: int | None = None, cap_amount: int | None = None,
                         min_amount: int = 0, plans=(), conditions_tree: dict | None = None, customer=None,
                         delay_days: int = 0, starts_at: datetime | None = None, ends_at: datetime | None = None,
                         title: str = "", source: str = "admin") -> CashbackRule:
    rule = CashbackRule(percent_bp=percent_bp, fixed_amount=fixed_amount, cap_amount=cap_amount, min_amount=min_amount,
                        conditions=conditions_tree or {}, customer=customer, delay_days=delay_days,
                        starts_at=starts_at or timezone.now(), ends_at=ends_at, title=(title or "")[:100], source=source[:20])
    rule.full_clean()
    with transaction.atomic():
        rule.save()
        if plans:
            rule.plans.set(plans)
    return rule


def cashback_rule_create_personal(*, customer, percent_bp: int, valid_until, label: str) -> CashbackRule:
    """A cashback rate for one customer until `valid_until` (used by the CRM's offers)."""
    return cashback_rule_create(percent_bp=percent_bp, customer=customer, ends_at=valid_until, title=label, source="crm")


def discount_set_status(*, discount_id: int, status: str) -> SmartDiscount:
    if status not in (SmartDiscount.Status.ACTIVE, SmartDiscount.Status.PAUSED):
        raise DiscountError(_("Unknown status."))
    updated = SmartDiscount.objects.filter(pk=discount_id).exclude(status=SmartDiscount.Status.ARCHIVED).update(
        status=status, updated_at=timezone.now())
    if not updated:
        raise DiscountError(_("This discount does not exist any more."))
    return SmartDiscount.objects.get(pk=discount_id)


def discount_delete(*, discount_id: int) -> str:
    """Delete a discount never used; one with uses is archived (its history stays)."""
    with transaction.atomic():
        discount = SmartDiscount.objects.select_for_update().filter(pk=discount_id).first()
        if discount is None or discount.status == SmartDiscount.Status.ARCHIVED:
            raise DiscountError(_("This discount does not exist any more."))
        if DiscountUsage.objects.filter(discount=discount).exists():
            SmartDiscount.objects.filter(pk=discount_id).update(status=SmartDiscount.Status.ARCHIVED, updated_at=timezone.now())
            return "archived"
        discount.delete()
        return "deleted"
