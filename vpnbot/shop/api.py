"""The shop's staff REST API (DRF): customers and their wallets, plans, orders (checkout and
refunds), top-up payments (approve, reject), subscriptions (config delivery) and traffic packs."""

from django.db import transaction
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from vpnbot.core.permissions import staff_with

from . import selectors, services
from .formatting import MAX_CONFIG_LENGTH
from .models import Customer, Order, Payment, Plan, Subscription, TrafficPack, WalletTransaction
from .provisioning import AccountInfo, ProvisioningUnavailable, get_provisioner


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ("id", "telegram_id", "username", "first_name", "last_name", "language", "time_zone", "birth_month",
                  "referral_code", "referred_by", "is_operator", "blocked_at", "balance_amount", "joined_at", "last_seen_at")
        read_only_fields = fields


class LedgerSerializer(serializers.ModelSerializer):
    class Meta:
        model = WalletTransaction
        fields = ("id", "amount", "balance_after", "reason", "source", "note", "created_at")


class WalletSerializer(serializers.Serializer):
    balance_amount = serializers.IntegerField()
    ledger = LedgerSerializer(many=True)


class PlanSerializer(serializers.ModelSerializer):
    panels = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**31 - 1), required=False,
                                   max_length=100, write_only=True,  # read back by to_representation, from the provisioner
                                   help_text="Ids of the panels this plan is sold on (empty: by hand)")

    class Meta:
        model = Plan
        fields = ("id", "name", "description", "duration_days", "traffic_gb", "device_limit", "price_amount", "price_stars",
                  "is_active", "sort_order", "traffic_on_renewal", "panels")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["panels"] = get_provisioner().plan_targets([instance]).get(instance.pk, [])
        return data

    def _save(self, save, *args, panels=None):
        with transaction.atomic():
            plan = save(*args)
            if panels is not None:
                try:
                    get_provisioner().set_plan_targets(plan, panels)
                except ProvisioningUnavailable as exc:
                    raise ValidationError({"panels": [str(exc)]}) from None
        return plan

    def create(self, validated_data):
        panels = validated_data.pop("panels", None)
        return self._save(super().create, validated_data, panels=panels)

    def update(self, instance, validated_data):
        panels = validated_data.pop("panels", None)
        return self._save(super().update, instance, validated_data, panels=panels)


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ("id", "customer", "plan", "quantity", "list_amount", "discount_amount", "paid_amount", "status", "quote",
                  "created_at", "paid_at", "refunded_amount", "refunded_at", "refund_reason")
        read_only_fields = fields


class OrderCreateSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    plan = serializers.PrimaryKeyRelatedField(queryset=Plan.objects.all())
    quantity = serializers.ChoiceField(choices=services.QUANTITIES)
    idempotency_key = serializers.CharField(max_length=60)
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{0,32}$", required=False, allow_blank=True, default="")


class RefundSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["full", "prorata"], default="full")
    reason = serializers.CharField(max_length=255)
    confirm = serializers.BooleanField(default=False, help_text="Refund even though the risk checks hold it "
                                                                "(the second confirmation; a 409 says when it is needed)")


class ApproveSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(default=False, help_text="Approve even though the risk checks hold this "
                                                                "receipt (the second confirmation; a 409 says when)")


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ("id", "customer", "amount", "receipt_file_id", "receipt_unique_id", "status", "reviewer", "reason",
                  "risk_score", "risk_action", "risk_reasons", "risk_confirmed_by", "created_at", "reviewed_at")
        read_only_fields = fields
        extra_kwargs = {"risk_reasons": {"help_text": "Why the risk checks scored it so: readable sentences"}}


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class _AccountsOfPage(serializers.ListSerializer):
    """Reads the accounts of a whole page of subscriptions at once (no query per row)."""

    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        self.child.context["accounts"] = get_provisioner().account_info(items)
        return super().to_representation(items)


class SubscriptionSerializer(serializers.ModelSerializer):
    panel = serializers.SerializerMethodField(help_text="Id of the panel the account is on (null: delivered by hand)")
    panel_account = serializers.SerializerMethodField(help_text="The account's name on the panel")
    used_bytes = serializers.SerializerMethodField(help_text="Traffic used, as of the last usage sync")
    limit_bytes = serializers.SerializerMethodField(help_text="Traffic limit in bytes (0 = unlimited)")
    subscription_url = serializers.SerializerMethodField()
    provisioning_status = serializers.SerializerMethodField(
        help_text="manual (an operator delivers the config), pending, active, disabled, failed or deleted")

    class Meta:
        model = Subscription
        fields = ("id", "customer", "plan", "order", "starts_at", "expires_at", "status", "config", "config_delivered_at",
                  "renewed_from", "is_trial", "created_at", "panel", "panel_account", "used_bytes", "limit_bytes",
                  "subscription_url", "provisioning_status")
        read_only_fields = fields
        list_serializer_class = _AccountsOfPage

    def _info(self, obj) -> AccountInfo | None:
        accounts = self.context.get("accounts")
        if accounts is None:
            accounts = self.context["accounts"] = get_provisioner().account_info([obj])
        return accounts.get(obj.pk)

    @extend_schema_field(OpenApiTypes.INT)
    def get_panel(self, obj):
        info = self._info(obj)
        return info.panel if info else None

    def get_panel_account(self, obj) -> str:
        info = self._info(obj)
        return info.account if info else ""

    @extend_schema_field(OpenApiTypes.INT)
    def get_used_bytes(self, obj):
        info = self._info(obj)
        return info.used_bytes if info else None

    @extend_schema_field(OpenApiTypes.INT)
    def get_limit_bytes(self, obj):
        info = self._info(obj)
        return info.limit_bytes if info else None

    def get_subscription_url(self, obj) -> str:
        info = self._info(obj)
        return info.subscription_url if info else ""

    def get_provisioning_status(self, obj) -> str:
        info = self._info(obj)
        return info.status if info else "manual"


class ConfigSerializer(serializers.Serializer):
    config = serializers.CharField(max_length=MAX_CONFIG_LENGTH,
                                   help_text="Sent in one Telegram message: at most 3,500 characters once & < > are "
                                             "HTML-escaped. Deliver a subscription link for longer configs.")


def _shop_error(exc: services.ShopError):
    if isinstance(exc, services.RiskHeld):  # held: a second confirmation ({"confirm": true}) goes on; frozen: nothing does
        return Response({"detail": str(exc), "risk_action": exc.verdict.action, "risk_score": exc.verdict.score,
                         "risk_reasons": list(exc.verdict.reasons)}, status=status.HTTP_409_CONFLICT)
    return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


def _filter(qs, params, *, statuses):
    """?status= and ?customer= (a customer id); anything else is a 400, never a 500."""
    value = params.get("status")
    if value:
        if value not in statuses:
            raise ValidationError({"status": [f"one of: {', '.join(statuses)}"]})
        qs = qs.filter(status=value)
    value = params.get("customer")
    if value:
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            raise ValidationError({"customer": ["a customer id (a whole number)"]})
        qs = qs.filter(customer_id=int(value))
    return qs


def _filter_parameters(statuses):
    return [OpenApiParameter("status", str, enum=list(statuses)),
            OpenApiParameter("customer", int, description="A customer id")]


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("q", str, description="A Telegram id or a username (with or without @)")]))
class CustomerViewSet(viewsets.ReadOnlyModelViewSet):
    """Customers; search with ?q= (Telegram id or username)."""

    serializer_class = CustomerSerializer

    def get_queryset(self):
        qs = Customer.objects.order_by("-id")
        q = self.request.query_params.get("q", "").strip().lstrip("@")
        if q:
            by_id = q.isascii() and q.isdigit() and len(q) <= 18
            qs = qs.filter(Q(username__iexact=q) | Q(telegram_id=int(q)) if by_id else Q(username__iexact=q))
        return qs

    @extend_schema(responses=WalletSerializer)
    @action(detail=True, permission_classes=staff_with("shop.view_customer", "shop.view_wallettransaction"))
    def wallet(self, request, pk=None):
        customer = self.get_object()
        ledger = selectors.wallet_history(customer=customer, limit=100)
        return Response(WalletSerializer({"balance_amount": customer.balance_amount, "ledger": ledger}).data)


class PlanViewSet(viewsets.ModelViewSet):
    serializer_class = PlanSerializer
    queryset = Plan.objects.all()

    def perform_destroy(self, instance):
        try:
            services.plan_delete(plan_id=instance.pk)
        except services.ShopError as exc:
            raise ValidationError({"detail": str(exc)}) from None


@extend_schema_view(list=extend_schema(parameters=_filter_parameters(Order.Status.values)))
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    queryset = Order.objects.select_related("customer", "plan").order_by("-id")

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action != "list":
            return qs
        return _filter(qs, self.request.query_params, statuses=Order.Status.values)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer, 200: OrderSerializer})
    def create(self, request):
        """Buy a plan for a customer from their wallet (idempotent by idempotency_key)."""
        data = OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            result = services.order_checkout(customer_id=v["customer"].pk, plan_id=v["plan"].pk, quantity=v["quantity"],
                                             idempotency_key=f"api:{v['idempotency_key']}", code=v["code"])
        except services.InsufficientBalance as exc:
            return Response({"detail": str(exc), "missing_amount": exc.missing}, status=status.HTTP_400_BAD_REQUEST)
        except services.ShopError as exc:
            return _shop_error(exc)
        return Response(OrderSerializer(result.order).data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(request=RefundSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"], permission_classes=staff_with("shop.view_order", "shop.refund_order"))
    def refund(self, request, pk=None):
        order = self.get_object()
        data = RefundSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            order = services.order_refund(order_id=order.pk, mode=data.validated_data["mode"], reason=data.validated_data["reason"],
                                          by=f"api:{request.user.get_username()}", confirm=data.validated_data["confirm"])
        except services.ShopError as exc:
            return _shop_error(exc)
        return Response(OrderSerializer(order).data)


@extend_schema_view(list=extend_schema(parameters=_filter_parameters(Payment.Status.values)))
class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Card receipts (wallet top-ups paid by card, a photo of the receipt), approved or rejected by
    an admin. Every provider's payments, these included, are listed at /api/v1/payments/."""

    serializer_class = PaymentSerializer

    def get_queryset(self):
        qs = Payment.objects.select_related("customer").order_by("-id")
        if self.action != "list":
            return qs
        return _filter(qs, self.request.query_params, statuses=Payment.Status.values)

    @extend_schema(request=ApproveSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"], permission_classes=staff_with("shop.view_payment", "shop.review_payment"))
    def approve(self, request, pk=None):
        payment = self.get_object()
        data = ApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            decision = services.payment_approve(payment_id=payment.pk, reviewer=f"api:{request.user.get_username()}",
                                                confirm=data.validated_data["confirm"])
        except services.ShopError as exc:
            return _shop_error(exc)
        if not decision.changed:
            return Response({"detail": f"Already {decision.payment.status}."}, status=status.HTTP_409_CONFLICT)
        return Response(PaymentSerializer(decision.payment).data)

    @extend_schema(request=RejectSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"], permission_classes=staff_with("shop.view_payment", "shop.review_payment"))
    def reject(self, request, pk=None):
        payment = self.get_object()
        data = RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            decision = services.payment_reject(payment_id=payment.pk, reviewer=f"api:{request.user.get_username()}",
                                               reason=data.validated_data["reason"])
        except services.ShopError as exc:
            return _shop_error(exc)
        if not decision.changed:
            return Response({"detail": f"Already {decision.payment.status}."}, status=status.HTTP_409_CONFLICT)
        return Response(PaymentSerializer(decision.payment).data)


@extend_schema_view(list=extend_schema(parameters=_filter_parameters(Subscription.Status.values)))
class SubscriptionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SubscriptionSerializer

    def get_queryset(self):
        qs = Subscription.objects.select_related("customer", "plan").order_by("-id")
        if self.action != "list":
            return qs
        return _filter(qs, self.request.query_params, statuses=Subscription.Status.values)

    @extend_schema(request=None, responses={202: SubscriptionSerializer})
    @action(detail=True, methods=["post"], permission_classes=staff_with("shop.view_subscription", "shop.change_subscription"))
    def provision(self, request, pk=None):
        """Try the subscription's account on its panel again (after "provisioning failed"), or
        push it again; the work runs in a task."""
        subscription = self.get_object()
        try:
            get_provisioner().retry(subscription)
        except ProvisioningUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(SubscriptionSerializer(subscription).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ConfigSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"], permission_classes=staff_with("shop.view_subscription", "shop.change_subscription"))
    def config(self, request, pk=None):
        """Deliver the VPN config of a subscription (manual provisioning)."""
        subscription = self.get_object()
        data = ConfigSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            subscription = services.subscription_deliver_config(subscription_id=subscription.pk, config=data.validated_data["config"])
        except services.ShopError as exc:
            return _shop_error(exc)
        return Response(SubscriptionSerializer(subscription).data)


class TrafficPackSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrafficPack
        fields = ("id", "name", "traffic_gb", "price_amount", "is_active", "sort_order")


class TrafficPackViewSet(viewsets.ModelViewSet):
    """Extra traffic customers buy for a running service (with a traffic limit) in /my_services."""

    serializer_class = TrafficPackSerializer
    queryset = TrafficPack.objects.all()
