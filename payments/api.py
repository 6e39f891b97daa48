"""The payments' staff API: every provider's payments in one list (the card receipts included),
read-only, with "check with the provider now", credit or refuse a held payment, and refund to
the provider. Thin callers of payments.services; permissions: payments.view_payment to read,
payments.decide_payment to check, credit or refuse, payments.refund_payment to refund.

A card receipt is approved or rejected as a top-up (/api/v1/topups/{id}/approve/ and reject/):
here its row is only read, and the answers to the rest point there."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from vpnbot.core.permissions import staff_with

from . import services
from .models import Payment

DECIDE = staff_with("payments.view_payment", "payments.decide_payment")
REFUND = staff_with("payments.view_payment", "payments.refund_payment")
CHOICES = {"provider": Payment.Provider.values, "status": Payment.Status.values, "purpose": Payment.Purpose.values}


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.CharField(help_text="When (ISO 8601)")
    event = serializers.CharField(help_text="What happened: created, opened, paid, hold, credited by an admin, …")
    detail = serializers.CharField(required=False, help_text="Who or what said so (the provider's word, the admin)")


class ProviderPaymentSerializer(serializers.ModelSerializer):
    telegram_id = serializers.IntegerField(source="customer.telegram_id", read_only=True)
    timeline = TimelineEntrySerializer(many=True, read_only=True, help_text="The payment's story, oldest first")
    risk_reasons = serializers.ListField(child=serializers.CharField(), read_only=True,
                                         help_text="Why the risk checks scored it so, readable")

    class Meta:
        model = Payment
        fields = ("id", "provider", "provider_payment_id", "customer", "telegram_id", "purpose", "amount", "currency",
                  "provider_amount", "received_amount", "received_currency", "status", "status_detail", "plan",
                  "quantity", "order", "receipt", "note", "decided_by", "timeline", "created_at", "updated_at",
                  "checked_at", "paid_at", "risk_score", "risk_action", "risk_reasons")
        read_only_fields = fields
        extra_kwargs = {
            "customer": {"help_text": "The customer's id in the shop"},
            "receipt": {"help_text": "A card payment's top-up (/api/v1/topups/{id}/), where it is approved or rejected"},
            "order": {"help_text": "The order this payment placed"},
            "risk_score": {"help_text": "0-100, what the risk checks said when the money arrived (a card receipt: "
                                        "its top-up's score)"},
            "risk_action": {"help_text": "allow, flag (credited, an operator looks later), hold (held for an admin) "
                                         "or freeze (the customer is banned: held until the ban is lifted)"},
        }


    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.receipt_id:  # a card receipt is scored as a top-up: its verdict is the receipt's
            receipt = instance.receipt
            data.update(risk_score=receipt.risk_score, risk_action=receipt.risk_action,
                        risk_reasons=list(receipt.risk_reasons or []))
        return data


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why; kept on the payment (and told to the customer "
                                                             "when a payment is refused)")


class RefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    approve = serializers.CharField(required=False, help_text="A card receipt: where it is approved (POST)")
    reject = serializers.CharField(required=False, help_text="A card receipt: where it is rejected (POST)")


def _refused(payment: Payment, exc: Exception) -> Response:
    """A 400 with the service's reason; for a card receipt, where it is decided instead."""
    body = {"detail": str(exc)}
    if payment.provider == Payment.Provider.CARD and payment.receipt_id:
        body["approve"] = reverse("topup-approve", args=[payment.receipt_id])
        body["reject"] = reverse("topup-reject", args=[payment.receipt_id])
        body["detail"] = f"{exc} " + _("It is approved or rejected as top-up #%(receipt)s: POST %(approve)s or "
                                       "POST %(reject)s.") % {**body, "receipt": payment.receipt_id}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _whole_number(params, name: str) -> int | None:
    value = params.get(name, "")
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18):  # "²".isdigit()
        raise ValidationError({name: [_("A whole number.")]})
    return int(value)


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("provider", str, enum=Payment.Provider.values),
    OpenApiParameter("status", str, enum=Payment.Status.values),
    OpenApiParameter("purpose", str, enum=Payment.Purpose.values),
    OpenApiParameter("customer", int, description="A customer id")]))
class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every provider's payments (Telegram Stars, Zarinpal, NowPayments, and the card receipts
    mirrored from the top-ups), newest first. `amount` is in the shop's currency (what the wallet
    is credited); `provider_amount` and `currency` are what the provider asked for,
    `received_amount` and `received_currency` what it reported."""

    serializer_class = ProviderPaymentSerializer
    queryset = Payment.objects.none()  # for the schema; the rows come from get_queryset

    def get_queryset(self):
        return Payment.objects.select_related("customer", "receipt").order_by("-id")

    def filter_queryset(self, queryset):
        """?provider= ?status= ?purpose= ?customer=: a bad value is a 400 naming the valid ones
        (checked here, after the permissions: a caller who may not read learns nothing)."""
        if self.action != "list":
            return queryset
        params = self.request.query_params
        errors = {}
        for name, values in CHOICES.items():
            value = params.get(name, "")
            if not value:
                continue
            if value in values:
                queryset = queryset.filter(**{name: value})
            else:
                errors[name] = [_("One of: %(values)s.") % {"values": ", ".join(values)}]
        try:
            customer = _whole_number(params, "customer")
        except ValidationError as exc:
            errors.update(exc.detail)
        else:
            if customer is not None:
                queryset = queryset.filter(customer_id=customer)
        if errors:
            raise ValidationError(errors)
        return queryset

    def _answer(self, payment_id: int) -> Response:
        return Response(ProviderPaymentSerializer(self.get_queryset().get(pk=payment_id)).data)

    def _reason(self, request) -> str:
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data["reason"]

    @extend_schema(request=None, responses={200: ProviderPaymentSerializer, 400: RefusedSerializer})
    @action(detail=True, methods=["post"], permission_classes=DECIDE)
    def check(self, request, pk=None):
        """Ask the provider where this payment stands now and apply its answer (a payment found paid
        is credited, once); 400 when the provider cannot be asked."""
        payment = self.get_object()
        try:
            services.payment_check(payment_id=payment.pk, via=f"api:{request.user.get_username()}")
        except services.PaymentsError as exc:
            return _refused(payment, exc)
        return self._answer(payment.pk)

    @extend_schema(request=ReasonSerializer, responses={200: ProviderPaymentSerializer, 400: RefusedSerializer})
    @action(detail=True, methods=["post"], permission_classes=DECIDE)
    def credit(self, request, pk=None):
        """Credit a held (or pending) payment after looking at it at the provider: the wallet is
        credited once (its order placed, if it pays one); 400 when it is already decided."""
        payment = self.get_object()
        reason = self._reason(request)
        try:
            services.payment_credit_held(payment_id=payment.pk, by=f"api:{request.user.get_username()}",
                                         reason=reason)
        except services.PaymentsError as exc:
            return _refused(payment, exc)
        return self._answer(payment.pk)

    @extend_schema(request=ReasonSerializer, responses={200: ProviderPaymentSerializer, 400: RefusedSerializer})
    @action(detail=True, methods=["post"], permission_classes=DECIDE)
    def refuse(self, request, pk=None):
        """Refuse a held (or pending) payment: nothing is credited; the customer is told the reason."""
        payment = self.get_object()
        reason = self._reason(request)
        try:
            services.payment_refuse(payment_id=payment.pk, by=f"api:{request.user.get_username()}", reason=reason)
        except services.PaymentsError as exc:
            return _refused(payment, exc)
        return self._answer(payment.pk)

    @extend_schema(request=ReasonSerializer, responses={200: ProviderPaymentSerializer, 400: RefusedSerializer})
    @action(detail=True, methods=["post"], permission_classes=REFUND)
    def refund(self, request, pk=None):
        """Give a paid payment back at its provider (Telegram Stars): its order, if it placed one, is
        refunded in full first; the amount leaves the wallet. 400 when the provider cannot refund,
        the wallet no longer holds it, or the provider refuses (nothing changes then)."""
        payment = self.get_object()
        reason = self._reason(request)
        if payment.provider == Payment.Provider.CARD:
            return Response({"detail": _("A card top-up is not refunded from here: refund its order to the wallet, "
                                         "or pay the customer back outside the shop.")},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            services.payment_refund(payment_id=payment.pk, by=f"api:{request.user.get_username()}", reason=reason)
        except services.PaymentsError as exc:
            return _refused(payment, exc)
        return self._answer(payment.pk)
