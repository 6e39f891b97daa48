"""Extra traffic: a traffic pack bought from the wallet for a running service whose account has
a traffic limit, once per idempotency key. The provisioner raises the account's limit inside the
payment's transaction, so a refusal takes the payment back. Traffic purchases are not refunded
(order_refund knows orders only)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import events
from ..models import Customer, Subscription, TrafficPack, TrafficPurchase, WalletTransaction
from ..provisioning import ProvisioningUnavailable, get_provisioner
from .errors import InsufficientBalance, QuoteChanged, ShopError
from .wallet import wallet_apply

GB = 1024**3


@dataclass
class TrafficCheckout:
    purchase: TrafficPurchase
    created: bool  # False: this confirmation was already used


def traffic_pack_get_active(pack_id) -> TrafficPack:
    """The pack if it is on sale; a ShopError otherwise."""
    pack = TrafficPack.objects.filter(pk=pack_id, is_active=True).first()
    if pack is None:
        raise ShopError(_("This traffic pack is not on sale any more. See /my_services."))
    return pack


def traffic_subscription(*, customer_id: int, subscription_id) -> Subscription:
    """The customer's own running subscription that extra traffic can be bought for (its account
    has a traffic limit, as the provisioner says; not an account a reseller bought for a
    customer of theirs); a ShopError otherwise."""
    subscription = (Subscription.objects.select_related("customer", "plan")
                    .filter(pk=subscription_id, customer_id=customer_id, status=Subscription.Status.ACTIVE,
                            expires_at__gt=timezone.now(), resold=False).first())
    if subscription is None:
        raise ShopError(_("This service is not one of your running services. See /my_services."))
    info = get_provisioner().account_info([subscription]).get(subscription.pk)
    if info is None or info.limit_bytes is None:
        raise ShopError(_("Extra traffic is sold for services on our servers only."))
    if info.limit_bytes == 0:
        raise ShopError(_("This service has unlimited traffic already."))
    if info.status in ("pending", "failed"):
        raise ShopError(_("This service is still being prepared: please try again in a few minutes."))
    if info.status != "active":
        raise ShopError(_("This service is switched off on its server, so no traffic can be added."))
    return subscription


def traffic_checkout(*, customer_id: int, subscription_id: int, pack_id: int, idempotency_key: str,
                     expected_amount: int | None = None) -> TrafficCheckout:
    """Pay a traffic pack from the wallet and raise the service's traffic limit, in one
    transaction. The same idempotency key buys once. expected_amount: the price the customer
    confirmed (QuoteChanged when the pack's price moved since)."""
    if not idempotency_key or len(idempotency_key) > 80:
        raise ShopError(_("This confirmation is not valid. Start again with /my_services."))
    existing = TrafficPurchase.objects.filter(idempotency_key=idempotency_key).first()
    if existing:
        return _again(existing, customer_id)
    pack = traffic_pack_get_active(pack_id)
    try:
        with transaction.atomic():
            customer = Customer.objects.select_for_update().get(pk=customer_id)
            existing = TrafficPurchase.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return _again(existing, customer_id)
            subscription = traffic_subscription(customer_id=customer.pk, subscription_id=subscription_id)
            price = pack.price_amount
            if expected_amount is not None and price != expected_amount:
                raise QuoteChanged(None)
            if customer.balance_amount < price:
                raise InsufficientBalance(price - customer.balance_amount)
            purchase = TrafficPurchase.objects.create(customer=customer, subscription=subscription, pack=pack,
                                                      traffic_gb=pack.traffic_gb, amount=price,
                                                      idempotency_key=idempotency_key)
            wallet_apply(customer_id=customer.pk, amount=-price, reason=WalletTransaction.Reason.TRAFFIC,
                         source=f"traffic:{purchase.pk}", note=f"{pack.name} ({pack.traffic_gb} GB) #{subscription.pk}")
            try:
                get_provisioner().add_traffic(subscription, pack.traffic_gb * GB)
            except ProvisioningUnavailable as exc:
                raise ShopError(str(exc)) from None
            events.emit("traffic_bought", customer=customer, purchase_id=purchase.pk, subscription_id=subscription.pk,
                        pack_id=pack.pk, traffic_gb=pack.traffic_gb, amount=price)
    except IntegrityError:
        existing = TrafficPurchase.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return _again(existing, customer_id)
        raise
    return TrafficCheckout(purchase, True)


def _again(existing: TrafficPurchase, customer_id: int) -> TrafficCheckout:
    if existing.customer_id != customer_id:
        raise ShopError(_("This confirmation is not valid. Start again with /my_services."))
    return TrafficCheckout(existing, False)
