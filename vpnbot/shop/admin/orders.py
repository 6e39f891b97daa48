"""Orders (refund), subscriptions (paste a config to deliver it, the account behind it), traffic
purchases and free trials."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.core.admin_tools import ReadOnlyAdmin, confirm_action, interpolate

from .. import selectors, services
from ..formatting import money
from ..models import (
    Order,
    Subscription,
    TrafficPurchase,
    Trial,
)
from ..provisioning import ProvisioningUnavailable, get_provisioner

GB = 1024**3
# AccountInfo.status as an operator reads it
ACCOUNT_STATUSES = {"manual": gettext_lazy("delivered by hand"), "pending": gettext_lazy("being created"),
                    "active": gettext_lazy("active"), "disabled": gettext_lazy("disabled"),
                    "failed": gettext_lazy("provisioning failed"), "deleted": gettext_lazy("deleted from the panel")}


class RefundForm(forms.Form):
    mode = forms.ChoiceField(label=capfirst(gettext_lazy("how much to refund")), choices=[
        ("full", gettext_lazy("In full")), ("prorata", gettext_lazy("Pro rata to the unused days"))])
    reason = forms.CharField(label=capfirst(gettext_lazy("refund reason")), max_length=255,
                             help_text=gettext_lazy("The customer will see this."))
    risk_confirm = forms.BooleanField(label=capfirst(gettext_lazy("refund even if the risk checks hold it")), required=False,
                                 help_text=gettext_lazy("The second confirmation of a held refund."))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "plan", "quantity", "list_amount", "discount_amount", "paid_amount", "status",
                    "refunded_amount", "created_at")
    list_filter = ("status", "plan", "created_at")
    search_fields = ("=id", "=customer__telegram_id", "customer__username", "idempotency_key")
    list_select_related = ("customer", "plan")
    readonly_fields = [f.name for f in Order._meta.fields]
    actions = ("refund",)

    def has_add_permission(self, request):
        return False

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("shop.refund_order")

    @admin.action(description=gettext_lazy("Refund the selected orders to the wallet…"), permissions=["refund"])
    def refund(self, request, queryset):
        def perform(orders, data):
            who = f"admin:{request.user.get_username()}"
            for order in orders:
                try:
                    done = services.order_refund(order_id=order.pk, mode=data["mode"], reason=data["reason"], by=who,
                                                  confirm=bool(data.get("risk_confirm")))
                    self.message_user(request, interpolate(_("Order #%(id)s: %(amount)s refunded."), id=order.pk,
                                                           amount=money(done.refunded_amount)), messages.SUCCESS)
                except services.ShopError as exc:
                    self.message_user(request, interpolate(_("Order #%(id)s: %(error)s"), id=order.pk, error=exc),
                                      messages.ERROR)

        return confirm_action(self, request, queryset, action="refund", title=_("Refund orders"),
                              question=_("These orders will be refunded to the customers' wallets and their "
                                         "subscriptions cut short."),
                              confirm_label=_("Refund"), form_class=RefundForm, perform=perform)


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = ("expires_at", "status", "config")  # the rest is read-only in the admin

    def clean_config(self):
        config = self.cleaned_data.get("config", "")
        if config.strip():
            try:
                services.subscription_validate_config(config)
            except services.ShopError as exc:
                raise forms.ValidationError(str(exc)) from None
        return config


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("id", "customer", "plan", "starts_at", "expires_at", "status", "has_config")
    list_filter = ("status", "plan", ("config", admin.EmptyFieldListFilter))
    search_fields = ("=id", "=customer__telegram_id", "customer__username")
    list_select_related = ("customer", "plan")
    readonly_fields = ("customer", "plan", "order", "starts_at", "renewed_from", "created_at", "config_delivered_at",
                       "account")
    fields = ("customer", "plan", "order", "starts_at", "expires_at", "status", "config", "config_delivered_at",
              "account", "renewed_from", "created_at")
    actions = ("retry_provisioning",)

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("VPN account"))
    def account(self, obj):
        """The account behind the subscription, as the provisioner tells it (a panel's, or none)."""
        info = get_provisioner().account_info([obj]).get(obj.pk) if obj and obj.pk else None
        if info is None:
            return _("none: the config is delivered by hand")
        used = _gb(info.used_bytes)
        usage = (interpolate(_("%(used)s GB / unlimited"), used=used) if not info.limit_bytes
                 else interpolate(_("%(used)s / %(limit)s GB"), used=used, limit=_gb(info.limit_bytes)))
        rows = [(_("status"), ACCOUNT_STATUSES.get(info.status, info.status)), (_("panel"), info.panel if info.panel is not None else "—"),
                (_("account name"), info.account or "—"), (_("traffic"), usage)]
        lines = format_html_join("", "{}: <bdi>{}</bdi><br>", rows)
        if info.subscription_url:
            lines += format_html('{}: <a href="{}" rel="noreferrer">{}</a>', _("link"), info.subscription_url,
                                 info.subscription_url)
        return lines

    @admin.action(description=gettext_lazy("Retry provisioning…"), permissions=["change"])
    def retry_provisioning(self, request, queryset):
        def perform(subscriptions, data):
            provisioner = get_provisioner()
            for subscription in subscriptions:
                try:
                    provisioner.retry(subscription)
                except ProvisioningUnavailable as exc:
                    self.message_user(request, interpolate(_("Subscription #%(id)s: %(error)s"), id=subscription.pk,
                                                           error=exc), messages.ERROR)
                    continue
                self.message_user(request, interpolate(_("Subscription #%(id)s: provisioning was started again."),
                                                       id=subscription.pk), messages.SUCCESS)

        return confirm_action(self, request, queryset, action="retry_provisioning", title=_("Retry provisioning"),
                              confirm_label=_("Retry"), perform=perform,
                              question=_("The VPN account of each subscription is made again on its panel (a failed "
                                         "one; looked up first, so never twice) or pushed to it again; the customer "
                                         "gets the link when it is ready."))

    @admin.display(boolean=True, description=gettext_lazy("has a config"))
    def has_config(self, obj):
        return bool(obj.config)

    def save_model(self, request, obj, form, change):
        config = form.cleaned_data.get("config", "")
        if "config" in form.changed_data and config.strip():
            form.instance.config = selectors.subscription_config(obj.pk)  # saved by the service below
            super().save_model(request, obj, form, change)
            services.subscription_deliver_config(subscription_id=obj.pk, config=config)
            self.message_user(request, _("The config was saved and sent to the customer."), messages.SUCCESS)
        else:
            super().save_model(request, obj, form, change)
        if change:
            services.subscription_announce_change(subscription_id=obj.pk, changed=form.changed_data)


def _gb(n: int | None) -> str:
    value = f"{(n or 0) / GB:.1f}"
    return value[:-2] if value.endswith(".0") else value



@admin.register(TrafficPurchase)
class TrafficPurchaseAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer", "subscription", "pack", "traffic_gb", "amount")
    search_fields = ("=customer__telegram_id", "customer__username", "=subscription__id")
    list_select_related = ("customer", "subscription__plan", "subscription__customer", "pack")


@admin.register(Trial)
class TrialAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer", "subscription")
    search_fields = ("=customer__telegram_id", "customer__username")
    list_select_related = ("customer", "subscription__plan", "subscription__customer")
