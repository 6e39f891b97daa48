"""The customer's services in the Mini App, as the bot's /my_services shows them (one per chain
of renewals, the account's usage and link from the provisioner), a new subscription link as
its "New link" makes it, and extra traffic as its "More traffic" buys it."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from vpnbot.core import bounds
from vpnbot.shop import selectors, services
from vpnbot.shop.formatting import days_until, format_date, gigabytes, money, usage_line
from vpnbot.shop.handlers.my_services import SHOWN
from vpnbot.shop.provisioning import get_provisioner

from .base import IDEMPOTENCY_KEY, TAG, Id, MiniAppView, WholeNumber, amounts, customer_key
from .buying import short_of_money


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def service_dict(service: selectors.Service, info, customer, packs_on_sale: bool) -> dict:
    """One running service: its plan, dates, days left, and its account (usage, link) or the
    config delivered by hand; what the customer can do with it, as the bot's buttons offer."""
    sub = service.current
    item = {
        "id": sub.pk, "plan": {"id": sub.plan_id, "name": sub.plan.name, "on_sale": sub.plan.is_active},
        "is_trial": sub.is_trial, "status": sub.status, "status_display": sub.get_status_display(),
        "starts_at": _iso(sub.starts_at), "starts_display": format_date(sub.starts_at, customer),
        "expires_at": _iso(service.expires_at), "expires_display": format_date(service.expires_at, customer),
        "days_left": days_until(service.expires_at), "renewals": [m.pk for m in service.members[1:]],
        "account": None, "config": "", "config_pending": False,
        "can_renew": sub.plan.is_active, "can_buy_traffic": False, "can_new_link": False}
    if info is None:  # delivered by hand: the config, or an operator is still to paste it
        item["config"] = sub.config
        item["config_pending"] = not sub.config
        return item
    shown = info.status in SHOWN and bool(info.subscription_url)
    usage = ""
    if info.used_bytes is not None and info.limit_bytes is not None:
        usage = usage_line(info.used_bytes, info.limit_bytes)
    item["account"] = {
        "status": info.status, "used_bytes": info.used_bytes, "limit_bytes": info.limit_bytes,
        "used_display": "" if info.used_bytes is None else _("%(gb)s GB") % {"gb": gigabytes(max(info.used_bytes, 0))},
        "limit_display": ("" if info.limit_bytes is None else _("unlimited") if info.limit_bytes == 0
                          else _("%(gb)s GB") % {"gb": gigabytes(info.limit_bytes)}),
        "usage_display": usage, "usage_read_at": _iso(info.usage_read_at),
        "usage_read_display": format_date(info.usage_read_at, customer) if info.usage_read_at else "",
        "subscription_url": info.subscription_url if shown else ""}
    item["config_pending"] = not shown  # an account being made (or failed: the operators were told)
    active = info.status == "active"
    item["can_buy_traffic"] = active and packs_on_sale and bool(info.limit_bytes)
    item["can_new_link"] = active
    return item


def services_of(customer) -> list[dict]:
    found = selectors.services_for(customer)
    if not found:
        return []
    accounts = get_provisioner().account_info([s.current for s in found])
    packs_on_sale = bool(selectors.traffic_packs_on_sale())
    return [service_dict(s, accounts.get(s.current.pk), customer, packs_on_sale) for s in found]


def _running(customer, subscription_id):
    """The customer's running subscription, else 404 (someone else's, a stale or forged id)."""
    sub = selectors.subscription_running(customer, subscription_id)
    if sub is None:
        raise NotFound(_("This service is not one of your running services."))
    return sub


SUBSCRIPTION_ID = OpenApiParameter("subscription_id", int, OpenApiParameter.PATH)


class SubscriptionsView(MiniAppView):
    @extend_schema(tags=[TAG], summary="The customer's running services", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response({"subscriptions": services_of(self.customer)})


class NewLinkView(MiniAppView):
    @extend_schema(tags=[TAG], summary="A new subscription link (the old one stops working)", request=None,
                   parameters=[SUBSCRIPTION_ID], responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, subscription_id):
        sub = _running(self.customer, int(subscription_id))
        if get_provisioner().account_info([sub]).get(sub.pk) is None:
            raise services.ShopError(_("A new link can be made only for services on our servers."))
        try:
            link = services.subscription_new_link(subscription=sub)
        except services.NewLinkTooSoon as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        current = next((s for s in services_of(self.customer) if sub.pk == s["id"] or sub.pk in s["renewals"]), None)
        return Response({"subscription_url": link or "", "subscription": current})


# --- extra traffic ------------------------------------------------------------------------------------------

class PacksQuery(serializers.Serializer):
    subscription = Id(required=False)


class TrafficIn(serializers.Serializer):
    subscription = Id()
    pack = Id()
    idempotency_key = serializers.RegexField(IDEMPOTENCY_KEY)
    expected_amount = WholeNumber(min_value=0, max_value=bounds.MAX_AMOUNT, required=False, allow_null=True, default=None)


def pack_dict(pack) -> dict:
    return {"id": pack.pk, "name": pack.name, "traffic_gb": pack.traffic_gb, **amounts("price", pack.price_amount)}


class TrafficPacksView(MiniAppView):
    @extend_schema(tags=[TAG], summary="Traffic packs on sale (?subscription=: checked that it can take one)",
                   parameters=[OpenApiParameter("subscription", int, required=False)],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        subscription_id = self.input(PacksQuery, request.query_params).get("subscription")
        if subscription_id is not None:
            _running(self.customer, subscription_id)
            services.traffic_subscription(customer_id=self.customer.pk, subscription_id=subscription_id)
        return Response({"subscription": subscription_id,
                         "packs": [pack_dict(p) for p in selectors.traffic_packs_on_sale()]})


class TrafficView(MiniAppView):
    @extend_schema(tags=[TAG], summary="Buy a traffic pack for a service from the wallet (once per idempotency_key)",
                   request=TrafficIn, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT,
                                                 402: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.input(TrafficIn)
        customer = self.customer
        _running(customer, data["subscription"])
        try:
            result = services.traffic_checkout(
                customer_id=customer.pk, subscription_id=data["subscription"], pack_id=data["pack"],
                idempotency_key=customer_key(customer, data["idempotency_key"]), expected_amount=data["expected_amount"])
        except services.InsufficientBalance as exc:
            return short_of_money(exc, for_order=False)
        except services.QuoteChanged as exc:
            pack = services.traffic_pack_get_active(data["pack"])
            return Response({"detail": str(exc), "pack": pack_dict(pack)}, status=status.HTTP_409_CONFLICT)
        purchase = result.purchase
        info = get_provisioner().account_info([purchase.subscription]).get(purchase.subscription_id)
        return Response({
            "created": result.created,
            "purchase": {"id": purchase.pk, "subscription": purchase.subscription_id, "pack": purchase.pack_id,
                         "traffic_gb": purchase.traffic_gb, **amounts("amount", purchase.amount),
                         "created_at": _iso(purchase.created_at)},
            "limit_bytes": info.limit_bytes if info is not None else None,
            "limit_display": (_("%(gb)s GB") % {"gb": gigabytes(info.limit_bytes)}
                              if info is not None and info.limit_bytes else ""),
            **amounts("balance", selectors.customer_fresh(customer.pk).balance_amount),
            "text": _("✅ %(gb)s GB added to your %(plan)s service for %(amount)s.") % {
                "gb": purchase.traffic_gb, "plan": purchase.subscription.plan.name, "amount": money(purchase.amount)},
        }, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
