"""Buying in the Mini App, as the bot's /plans, /buy and the online payments do it: the plans
with the customer's prices, a quote, an order from the wallet (once per idempotency key), and
paying online (a top-up, or an order's total when the wallet is short) with the status of
such a payment for polling."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from payments import selectors as payment_selectors
from vpnbot.core import bounds
from vpnbot.shop import paymethods, pricing, selectors, services
from vpnbot.shop.formatting import format_date, money, quote_text

from .base import CODE, IDEMPOTENCY_KEY, TAG, Id, MiniAppView, WholeNumber, amounts, customer_key

METHOD = r"^[a-z]{1,16}$"
MAX_TOTAL = bounds.MAX_AMOUNT * bounds.MAX_QUANTITY


# --- what the customer sends ----------------------------------------------------------------------------

class QuoteIn(serializers.Serializer):
    plan = Id()
    quantity = WholeNumber(min_value=1, max_value=bounds.MAX_QUANTITY)
    code = serializers.RegexField(CODE, required=False, allow_blank=True, default="")


class OrderIn(QuoteIn):
    idempotency_key = serializers.RegexField(IDEMPOTENCY_KEY, help_text="8-80 of A-Z a-z 0-9 _ . : -; one order per key")
    expected_total = WholeNumber(min_value=0, max_value=MAX_TOTAL, required=False, allow_null=True, default=None,
                                 help_text="The total the customer saw; another price now answers 409")


class PayOrderIn(QuoteIn):
    method = serializers.RegexField(METHOD)
    expected_total = WholeNumber(min_value=0, max_value=MAX_TOTAL)


class TopupIn(serializers.Serializer):
    method = serializers.RegexField(METHOD)
    amount = WholeNumber(min_value=1, max_value=bounds.MAX_AMOUNT)


class PlansQuery(serializers.Serializer):
    code = serializers.RegexField(CODE, required=False, allow_blank=True, default="")


# --- what the customer reads ----------------------------------------------------------------------------

def quote_dict(plan, quote) -> dict:
    return {
        "plan": plan.pk, "plan_name": plan.name, "quantity": quote.quantity, "code": quote.code,
        "code_applied": quote.code_applied, **amounts("list", quote.list_amount),
        "discounts": [{"label": d.label, "amount": d.amount, "display": money(d.amount)} for d in quote.discounts],
        **amounts("discount", quote.discount_amount), **amounts("total", quote.total_amount),
        **amounts("cashback", quote.cashback_amount), "text": quote_text(plan, quote)}


def plan_dict(plan, customer, code: str, at) -> dict:
    item = {"id": plan.pk, "name": plan.name, "description": plan.description, "duration_days": plan.duration_days,
            "traffic_gb": plan.traffic_gb, "device_limit": plan.device_limit, **amounts("price", plan.price_amount),
            "quantities": list(services.quantities_for(plan)), "available": True, "detail": "", "quote": None}
    try:
        item["quote"] = quote_dict(plan, services.price_quote(customer, plan, 1, at, code=code))
    except services.ShopError as exc:  # a number out of its bounds: not sold (the operators see why in the log)
        item.update(available=False, detail=str(exc), quantities=[])
    return item


def methods_list(*, for_order: bool = False) -> list[dict]:
    return [{"key": m.key, "label": m.label(), "pays_orders": getattr(m, "pays_orders", True)}
            for m in paymethods.online_methods(for_order=for_order)]


def short_of_money(exc: services.InsufficientBalance, *, for_order: bool) -> Response:
    """402: how much is missing, the top-up that covers it, and the methods to pay with."""
    low, high = services.topup_limits()
    offer = min(max(exc.missing, low), high)  # a top-up the shop accepts, as the bot offers it
    return Response({"detail": str(exc), **amounts("missing", exc.missing), **amounts("topup", offer),
                     "methods": methods_list(for_order=for_order)}, status=status.HTTP_402_PAYMENT_REQUIRED)


def started_dict(method, started: paymethods.Started, amount: int) -> dict:
    return {"payment_id": started.payment_id, "method": method.key, "method_label": method.label(),
            "url": started.url, "invoice_link": started.url if started.invoice_link else "",
            "open": "invoice" if started.invoice_link else "link", "text": started.text, **amounts("amount", amount)}


def _method(key: str, *, for_order: bool = False):
    method = paymethods.method_get(key)
    if method is None or (for_order and method not in paymethods.online_methods(for_order=True)):
        raise services.ShopError(_("This payment method is not available right now."))
    return method


def _iso(value) -> str | None:
    return value.isoformat() if value else None


# --- views ----------------------------------------------------------------------------------------------

OBJECT = {200: OpenApiTypes.OBJECT}


class PlansView(MiniAppView):
    @extend_schema(tags=[TAG], summary="Plans on sale with the customer's price (one period; ?code= a discount code)",
                   parameters=[OpenApiParameter("code", str, required=False)], responses=OBJECT)
    def get(self, request):
        code = self.input(PlansQuery, request.query_params)["code"]
        at = timezone.now()
        with pricing.many_quotes():  # the adjusters read the customer once for the whole list
            plans = [plan_dict(p, self.customer, code, at) for p in selectors.plan_list_active()]
        return Response({"code": code, "plans": plans})


class QuoteView(MiniAppView):
    @extend_schema(tags=[TAG], summary="The customer's price of a plan × quantity (with a discount code)", request=QuoteIn,
                   responses=OBJECT)
    def post(self, request):
        data = self.input(QuoteIn)
        plan = services.plan_get_active(data["plan"])
        quote = services.price_quote(self.customer, plan, data["quantity"], code=data["code"])
        balance = self.customer.balance_amount
        code_message = ""
        if data["code"] and not quote.code_applied:
            code_message = _("The code %(code)s does not apply to this purchase (unknown, expired, used up or for other "
                             "plans).") % {"code": data["code"]}
        return Response({**quote_dict(plan, quote), "code_message": code_message, **amounts("balance", balance),
                         **amounts("missing", max(quote.total_amount - balance, 0))})


def order_dict(order, customer) -> dict:
    sub = getattr(order, "subscription", None)
    return {"id": order.pk, "plan": order.plan_id, "plan_name": order.plan.name, "quantity": order.quantity,
            **amounts("list", order.list_amount), **amounts("discount", order.discount_amount),
            **amounts("paid", order.paid_amount), "status": order.status, "created_at": _iso(order.created_at),
            "subscription": None if sub is None else {
                "id": sub.pk, "starts_at": _iso(sub.starts_at), "expires_at": _iso(sub.expires_at),
                "expires_display": format_date(sub.expires_at, customer)}}


class OrdersView(MiniAppView):
    @extend_schema(tags=[TAG], summary="Buy a plan from the wallet (once per idempotency_key)", request=OrderIn,
                   responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT, 402: OpenApiTypes.OBJECT,
                              409: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.input(OrderIn)
        customer = self.customer
        try:
            result = services.order_checkout(
                customer_id=customer.pk, plan_id=data["plan"], quantity=data["quantity"], code=data["code"],
                idempotency_key=customer_key(customer, data["idempotency_key"]), expected_total=data["expected_total"])
        except services.InsufficientBalance as exc:
            return short_of_money(exc, for_order=True)
        except services.QuoteChanged as exc:
            plan = services.plan_get_active(data["plan"])
            return Response({"detail": str(exc), "quote": quote_dict(plan, exc.quote)}, status=status.HTTP_409_CONFLICT)
        balance = selectors.customer_fresh(customer.pk).balance_amount
        return Response({"created": result.created, "order": order_dict(result.order, customer),
                         **amounts("balance", balance)},
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class PayOrderView(MiniAppView):
    @extend_schema(tags=[TAG], summary="Pay an order's total online (the order is placed when the money arrives)",
                   request=PayOrderIn, responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.input(PayOrderIn)
        method = _method(data["method"], for_order=True)
        plan = services.plan_get_active(data["plan"])
        quote = services.price_quote(self.customer, plan, data["quantity"], code=data["code"])
        if quote.total_amount != data["expected_total"]:
            return Response({"detail": str(services.QuoteChanged(quote)), "quote": quote_dict(plan, quote)},
                            status=status.HTTP_409_CONFLICT)
        purchase = paymethods.Purchase(plan_id=plan.pk, quantity=quote.quantity, expected_total=quote.total_amount,
                                       code=data["code"])
        started = method.start(customer=self.customer, amount=quote.total_amount, purchase=purchase, link=True)
        return Response(started_dict(method, started, quote.total_amount), status=status.HTTP_201_CREATED)


class MethodsView(MiniAppView):
    @extend_schema(tags=[TAG], summary="The online payment methods on now, and the top-up limits", responses=OBJECT)
    def get(self, request):
        low, high = services.topup_limits()
        card = ({"number": settings.PAYMENT_CARD_NUMBER, "holder": settings.PAYMENT_CARD_HOLDER}
                if settings.PAYMENT_CARD_NUMBER else None)  # the card-to-card top-up (the bot's /topup)
        return Response({"methods": methods_list(), "card": card, **amounts("topup_min", low),
                         **amounts("topup_max", high)})


class TopupsView(MiniAppView):
    @extend_schema(tags=[TAG], summary="Start an online top-up of the wallet", request=TopupIn,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.input(TopupIn)
        amount = services.topup_parse_amount(str(data["amount"]))  # the shop's limits, with the bot's words
        method = _method(data["method"])
        started = method.start(customer=self.customer, amount=amount, link=True)
        return Response(started_dict(method, started, amount), status=status.HTTP_201_CREATED)


class PaymentView(MiniAppView):
    @extend_schema(tags=[TAG], summary="Where one of the customer's online payments stands (for polling)",
                   parameters=[OpenApiParameter("payment_id", int, OpenApiParameter.PATH)], responses=OBJECT)
    def get(self, request, payment_id):
        payment = payment_selectors.payment_of_customer(customer_id=self.customer.pk, payment_id=int(payment_id))
        if payment is None:
            raise NotFound(_("This payment was not found."))
        order = payment.order if payment.order_id else None
        return Response({
            "id": payment.pk, "method": payment.provider, "method_label": payment.get_provider_display(),
            "purpose": payment.purpose, "status": payment.status, "status_display": payment.get_status_display(),
            "paid": payment.status == payment.Status.PAID, "final": payment.status not in payment.OPEN,
            **amounts("amount", payment.amount), "asked": payment_selectors.asked_text(payment),
            "order_id": payment.order_id, "order": None if order is None else order_dict(order, self.customer),
            # paid for an order that could not be placed then (the plan gone, the price changed): in the wallet
            "order_refused": payment.purpose == payment.Purpose.ORDER and payment.status == payment.Status.PAID
            and order is None,
            "created_at": _iso(payment.created_at), "paid_at": _iso(payment.paid_at),
            **amounts("balance", self.customer.balance_amount)})
