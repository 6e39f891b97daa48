"""The panels' staff API: panels (CRUD; passwords and tokens write-only, never returned), a
connection test, a usage sync now, and the accounts on the panels (read, repair, retry).
Thin callers of services and selectors; permissions: the model permissions for CRUD,
panels.operate_panel for test, sync, repair and retry."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from vpnbot.core.permissions import staff_with

from . import reporting, selectors, services
from .models import Panel, PanelAccount

OPERATE_PANEL = staff_with("panels.view_panel", "panels.operate_panel")
OPERATE_ACCOUNT = staff_with("panels.view_panelaccount", "panels.operate_panel")
SECRET_MAX = 4000
INBOUNDS_HELP = ("What a new account gets: 3x-ui inbound ids (numbers, at least one), Marzban inbound tags (text; "
                 "none = every inbound), PasarGuard group ids (numbers; none = every enabled group).")


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class InboundField(serializers.Field):
    """An inbound id (a number) or tag (text)."""

    default_error_messages = {"invalid": "An inbound id (a number) or tag (text)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class PanelSerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=SECRET_MAX, trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Write-only, stored encrypted. Left out: kept; an empty string removes it.")
    token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=SECRET_MAX, trim_whitespace=False,
        style={"input_type": "password"},
        help_text="API token (3x-ui 3.0+ bearer token, PasarGuard API key, Marzban JWT). Write-only, stored "
                  "encrypted. Left out: kept; an empty string removes it.")
    has_password = serializers.SerializerMethodField(help_text="Whether a password is stored")
    has_token = serializers.SerializerMethodField(help_text="Whether an API token is stored")
    inbounds = serializers.ListField(child=InboundField(), max_length=100, required=False, help_text=INBOUNDS_HELP)
    accounts = serializers.SerializerMethodField(help_text="Active accounts on the panel (the capacity counts these)")
    plans = serializers.PrimaryKeyRelatedField(many=True, read_only=True,
                                               help_text="Plans sold on this panel (set them on the plan)")

    class Meta:
        model = Panel
        fields = ("id", "name", "kind", "base_url", "public_base_url", "username", "password", "token", "has_password",
                  "has_token", "inbounds", "verify_tls", "timeout_seconds", "status", "capacity", "accounts", "plans",
                  "version", "checked_at", "last_error", "synced_at", "created_at")
        read_only_fields = ("version", "checked_at", "last_error", "synced_at", "created_at")

    def get_initial(self):
        """What the browsable API's form shows back after an error: never a secret typed."""
        initial = super().get_initial()
        for name in ("password", "token"):
            initial.pop(name, None)
        return initial

    def get_has_password(self, obj) -> bool:
        return bool(obj.password_encrypted)

    def get_has_token(self, obj) -> bool:
        return bool(obj.token_encrypted)

    def get_accounts(self, obj) -> int:
        count = getattr(obj, "active_accounts", None)
        if count is None:
            count = obj.accounts.filter(status=PanelAccount.Status.ACTIVE).count()
        return count

    def validate(self, attrs):
        """What the panel will be after this request must make sense as a whole."""
        panel = self.instance

        def after(name, default=""):
            return attrs[name] if name in attrs else getattr(panel, name, default) if panel else default

        kind = after("kind")
        errors = {}
        if "inbounds" in attrs or "kind" in attrs or panel is None:
            try:
                attrs["inbounds"] = services.inbounds_clean(kind=kind, inbounds=after("inbounds", []))
            except services.PanelsError as exc:
                errors["inbounds"] = [str(exc)]
        if kind != Panel.Kind.MANUAL:
            if not after("base_url"):
                errors["base_url"] = [_("A panel of this kind needs its address.")]
            has_password = bool(attrs["password"]) if "password" in attrs else bool(panel and panel.password_encrypted)
            has_token = bool(attrs["token"]) if "token" in attrs else bool(panel and panel.token_encrypted)
            username = after("username")
            if not has_token and not (username and has_password):
                missing = _("Give a username and password, or an API token.")
                touched = [name for name in ("password", "token", "username") if name in attrs]
                if panel is not None and touched:  # a change that removed what the panel logs in with
                    errors.update({name: [missing] for name in touched})
                elif username:
                    errors["password"] = [missing]
                elif has_password:
                    errors["username"] = [missing]
                else:
                    errors["password"] = errors["token"] = [missing]
        if errors:
            raise ValidationError(errors)
        return attrs

    def _saved(self, fn, **kwargs) -> Panel:
        try:
            panel = fn(**kwargs)
        except services.PanelsError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return selectors.panels_with_counts().get(pk=panel.pk)

    def create(self, validated_data):
        password, token = validated_data.pop("password", ""), validated_data.pop("token", "")
        return self._saved(services.panel_create, password=password, token=token, **validated_data)

    def update(self, instance, validated_data):
        password, token = validated_data.pop("password", None), validated_data.pop("token", None)
        return self._saved(services.panel_update, panel_id=instance.pk, password=password, token=token,
                           **validated_data)


class PanelTestSerializer(serializers.Serializer):
    kind = serializers.CharField()
    version = serializers.CharField()
    inbounds = serializers.ListField(child=serializers.DictField(),
                                     help_text="3x-ui: {id, remark, protocol, port}; Marzban: {id (the tag), tag, "
                                               "protocol, network, tls, port}; PasarGuard groups: {id, name, "
                                               "inbound_tags, is_disabled}")


class SyncResultSerializer(serializers.Serializer):
    panel = serializers.CharField()
    seen = serializers.IntegerField()
    updated = serializers.IntegerField()
    missing = serializers.IntegerField()
    drifted = serializers.IntegerField()
    warned = serializers.IntegerField()
    error = serializers.CharField()
    drift_examples = serializers.ListField(child=serializers.CharField())


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PanelViewSet(viewsets.ModelViewSet):
    """VPN panels. Secrets are write-only: `has_password` / `has_token` say whether one is stored."""

    serializer_class = PanelSerializer
    queryset = Panel.objects.none()  # for the schema; the rows come from get_queryset

    def get_queryset(self):
        return selectors.panels_with_counts().prefetch_related("plans").order_by("name")

    @extend_schema(responses={204: None, 400: DetailSerializer})
    def destroy(self, request, *args, **kwargs):
        """Delete a panel that never held an account (else 400: set it to disabled)."""
        panel = self.get_object()
        try:
            services.panel_delete(panel_id=panel.pk)
        except services.PanelsError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: PanelTestSerializer, 400: DetailSerializer})
    @action(detail=True, methods=["post"], permission_classes=OPERATE_PANEL)
    def test(self, request, pk=None):
        """Log in and read the panel's version and inbounds (groups on PasarGuard); the outcome is
        stored on the panel (checked_at, version, last_error)."""
        panel = self.get_object()
        try:
            info = services.panel_test(panel_id=panel.pk)
        except reporting.ERRORS as exc:
            return Response({"detail": reporting.error_text(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"kind": info.kind, "version": info.version, "inbounds": info.inbounds})

    @extend_schema(request=None, responses={200: SyncResultSerializer, 400: DetailSerializer})
    @action(detail=True, methods=["post"], permission_classes=OPERATE_PANEL)
    def sync(self, request, pk=None):
        """Read this panel's accounts now (usage, status, differences from the shop) and answer what
        the sync saw; 400 when the panel cannot be read."""
        panel = self.get_object()
        if panel.kind == Panel.Kind.MANUAL or panel.status == Panel.Status.DISABLED:
            return Response({"detail": _("A manual or disabled panel is not synced.")},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            result = services.panel_sync(panel_id=panel.pk)
        except reporting.ERRORS as exc:
            return Response({"detail": reporting.error_text(exc)}, status=status.HTTP_400_BAD_REQUEST)
        data = SyncResultSerializer(result).data
        if result.error:
            return Response({**data, "detail": result.error}, status=status.HTTP_400_BAD_REQUEST)
        return Response(data)


class PanelAccountSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="subscription.customer_id", read_only=True,
                                        help_text="The customer's id in the shop")
    telegram_id = serializers.IntegerField(source="subscription.customer.telegram_id", read_only=True)
    has_drift = serializers.SerializerMethodField(help_text="The panel disagrees with the shop (see drift)")

    class Meta:
        model = PanelAccount
        fields = ("id", "subscription", "customer", "telegram_id", "panel", "name", "remote_id", "status",
                  "expires_at", "limit_bytes", "used_bytes", "devices", "subscription_url", "panel_status",
                  "last_online_at", "synced_at", "attempts", "last_error", "has_drift", "drift", "drift_at",
                  "created_at", "updated_at")
        read_only_fields = fields

    def get_has_drift(self, obj) -> bool:
        return obj.drift_at is not None


def _whole_number(params, name: str) -> int | None:
    value = params.get(name, "")
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18):  # "²".isdigit()
        raise ValidationError({name: [_("A whole number.")]})
    return int(value)


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("panel", int, description="A panel id"),
    OpenApiParameter("status", str, enum=PanelAccount.Status.values),
    OpenApiParameter("drift", int, enum=[0, 1], description="1: only accounts whose panel disagrees with the shop")]))
class PanelAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The accounts on the panels, newest first."""

    serializer_class = PanelAccountSerializer
    queryset = PanelAccount.objects.none()  # for the schema; the rows come from get_queryset

    def get_queryset(self):
        if self.action != "list":
            return selectors.accounts_list()
        params = self.request.query_params
        state = params.get("status", "")
        if state and state not in PanelAccount.Status.values:
            raise ValidationError({"status": [_("One of: %(values)s.") % {
                "values": ", ".join(PanelAccount.Status.values)}]})
        drift = params.get("drift", "")
        if drift not in ("", "0", "1", "true", "false"):
            raise ValidationError({"drift": [_("1 or 0.")]})
        return selectors.accounts_list(panel=_whole_number(params, "panel"), status=state,
                                       drift={"": None, "0": False, "false": False}.get(drift, True))

    @extend_schema(request=None, responses={202: PanelAccountSerializer, 400: DetailSerializer})
    @action(detail=True, methods=["post"], permission_classes=OPERATE_ACCOUNT)
    def repair(self, request, pk=None):
        """Push the shop's truth (expiry, limit, devices, on/off) to the panel; an account missing on
        the panel is made again. Runs in a task."""
        account = self.get_object()
        try:
            services.account_repair(account_id=account.pk)
        except services.PanelsError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(PanelAccountSerializer(selectors.accounts_list().get(pk=account.pk)).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: PanelAccountSerializer, 400: DetailSerializer})
    @action(detail=True, methods=["post"], permission_classes=OPERATE_ACCOUNT)
    def retry(self, request, pk=None):
        """Provision again (a failed account is made afresh, looked up first), or push it again."""
        account = self.get_object()
        try:
            services.account_retry(subscription=account.subscription)
        except services.PanelsError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(PanelAccountSerializer(selectors.accounts_list().get(pk=account.pk)).data,
                        status=status.HTTP_202_ACCEPTED)
