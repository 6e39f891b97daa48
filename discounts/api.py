"""The staff REST API of smart discounts: discounts and cashback rules (CRUD, validated by the
same rules as the bot and the admin), a price quote with its breakdown, and statistics."""

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from vpnbot.core import bounds
from vpnbot.core.permissions import staff_with
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Customer, Plan

from . import selectors, services
from .models import CashbackRule, SmartDiscount


def _as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError({k: [m for e in v for m in e.messages] for k, v in exc.error_dict.items()})
    return serializers.ValidationError(exc.messages)


class SmartDiscountSerializer(serializers.ModelSerializer):
    class Meta:
        model = SmartDiscount
        fields = ("id", "kind", "title", "percent_bp", "fixed_amount", "cap_amount", "params", "conditions", "code",
                  "customer", "starts_at", "ends_at", "max_uses", "used_count", "per_customer_limit", "priority",
                  "stackable", "for_resellers", "status", "source", "created_by", "created_at")
        read_only_fields = ("used_count", "created_at")

    def validate(self, attrs):
        instance = SmartDiscount(**{f.name: getattr(self.instance, f.name) for f in SmartDiscount._meta.concrete_fields}) \
            if self.instance else SmartDiscount()
        for key, value in attrs.items():
            setattr(instance, key, value)
        try:
            services.discount_validate(instance)
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from None
        if instance.code:
            attrs["code"] = instance.code
        return attrs


class CashbackRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = CashbackRule
        fields = ("id", "title", "percent_bp", "fixed_amount", "cap_amount", "min_amount", "plans", "conditions", "customer",
                  "delay_days", "starts_at", "ends_at", "is_active", "source", "created_at")
        read_only_fields = ("created_at",)

    def validate(self, attrs):
        values = {k: v for k, v in attrs.items() if k != "plans"}
        instance = CashbackRule(**{f.name: getattr(self.instance, f.name) for f in CashbackRule._meta.concrete_fields}) \
            if self.instance else CashbackRule()
        for key, value in values.items():
            setattr(instance, key, value)
        try:
            services.cashback_rule_validate(instance)
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from None
        return attrs


class SmartDiscountViewSet(viewsets.ModelViewSet):
    """Smart discounts. Deleting one that was used archives it instead."""

    queryset = SmartDiscount.objects.all().order_by("-id")
    serializer_class = SmartDiscountSerializer
    lookup_value_regex = r"\d+"

    def destroy(self, request, *args, **kwargs):
        discount = self.get_object()
        try:
            outcome = services.discount_delete(discount_id=discount.pk)
        except services.DiscountError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if outcome == "archived":
            return Response({"detail": "archived (the discount has uses)"}, status=status.HTTP_200_OK)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CashbackRuleViewSet(viewsets.ModelViewSet):
    queryset = CashbackRule.objects.all().prefetch_related("plans").order_by("-id")
    serializer_class = CashbackRuleSerializer
    lookup_value_regex = r"\d+"


class QuoteRequestSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    plan = serializers.PrimaryKeyRelatedField(queryset=Plan.objects.all())
    quantity = serializers.ChoiceField(choices=shop_services.QUANTITIES, default=1)
    at = serializers.DateTimeField(required=False, help_text="Price at this moment instead of now")
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{0,32}$", required=False, allow_blank=True, default="")


class AppliedDiscountSerializer(serializers.Serializer):
    label = serializers.CharField()
    amount = serializers.IntegerField()
    ref = serializers.CharField()


class QuoteSerializer(serializers.Serializer):
    plan_id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    list_amount = serializers.IntegerField()
    discounts = AppliedDiscountSerializer(many=True)
    discount_amount = serializers.IntegerField()
    total_amount = serializers.IntegerField()
    cashback_amount = serializers.IntegerField()
    code = serializers.CharField()
    at = serializers.CharField()


class QuoteView(APIView):
    permission_classes = staff_with("discounts.view_smartdiscount", "shop.view_customer")

    @extend_schema(request=QuoteRequestSerializer, responses={200: QuoteSerializer},
                   summary="Price a plan for a customer with the discounts and cashback that apply")
    def post(self, request):
        data = QuoteRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            quote = shop_services.price_quote(values["customer"], values["plan"], values["quantity"], values.get("at"),
                                              code=values["code"])
        except shop_services.ShopError as exc:
            raise serializers.ValidationError({"detail": str(exc)}) from None
        return Response(QuoteSerializer(quote.as_dict()).data)


class StatsRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    uses = serializers.IntegerField()
    discounted = serializers.IntegerField()
    revenue = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    uses = serializers.IntegerField()
    revenue = serializers.IntegerField()
    discounted = serializers.IntegerField()
    cashback_paid = serializers.IntegerField(help_text="Cashback credited to wallets in the period")
    cashback_reversed = serializers.IntegerField(help_text="Cashback taken back from wallets after refunds in the period")
    cashback_unrecovered = serializers.IntegerField(
        help_text="Cashback refunds in the period should have taken back but the wallet was short")
    cashback_net = serializers.IntegerField(help_text="cashback_paid - cashback_reversed")
    per_kind = StatsRowSerializer(many=True)
    per_discount = StatsRowSerializer(many=True)


class StatsView(APIView):
    permission_classes = staff_with("discounts.view_smartdiscount", "discounts.view_discountusage")

    @extend_schema(parameters=[OpenApiParameter("days", int, description="The last N days (default 30)"),
                               OpenApiParameter("since", str, description="ISO datetime; overrides days"),
                               OpenApiParameter("until", str, description="ISO datetime (default now)")],
                   responses={200: StatsSerializer}, summary="Uses, revenue, amount discounted and cashback over a period")
    def get(self, request):
        fields = {"days": serializers.IntegerField(min_value=1, max_value=bounds.MAX_DAYS),
                  "since": serializers.DateTimeField(), "until": serializers.DateTimeField()}
        errors, values = {}, {"days": 30}
        for name, field in fields.items():
            raw = request.query_params.get(name)
            if raw is None:
                continue
            try:
                values[name] = field.run_validation(raw)
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        until = values.get("until") or timezone.now()
        try:
            since = values.get("since") or until - timedelta(days=values["days"])
        except OverflowError:
            raise serializers.ValidationError({"days": [_("The period starts before year 1.")]}) from None
        try:
            stats = selectors.discount_stats(since=since, until=until)
        except services.DiscountError as exc:
            raise serializers.ValidationError({"detail": str(exc)}) from None
        return Response(StatsSerializer({
            "since": stats.since, "until": stats.until, "uses": stats.uses, "revenue": stats.revenue,
            "discounted": stats.discounted, "cashback_paid": stats.cashback_paid,
            "cashback_reversed": stats.cashback_reversed, "cashback_unrecovered": stats.cashback_unrecovered,
            "cashback_net": stats.cashback_net,
            "per_kind": [{"key": r["kind"], "uses": r["uses"], "discounted": r["discounted"], "revenue": r["revenue"]}
                         for r in stats.per_kind],
            "per_discount": [{"key": str(r["discount_id"]), "uses": r["uses"], "discounted": r["discounted"] or 0,
                              "revenue": r["revenue"] or 0} for r in stats.per_discount]}).data)
