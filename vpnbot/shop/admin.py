"""The shop in the Django admin: customers with their ledger, plans, orders (refund action),
subscriptions (paste a config to deliver it), top-ups (approve, reject), referrals, events."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.db import transaction
from django.shortcuts import redirect
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.core.admin_tools import ReadOnlyAdmin, confirm_action, interpolate

from . import selectors, services
from .formatting import money
from .models import (
    Customer,
    DomainEvent,
    Order,
    Payment,
    Plan,
    ReferralReward,
    Subscription,
    TrafficPack,
    TrafficPurchase,
    Trial,
    WalletTransaction,
)
from .provisioning import ProvisioningUnavailable, get_provisioner

GB = 1024**3
# AccountInfo.status as an operator reads it
ACCOUNT_STATUSES = {"manual": gettext_lazy("delivered by hand"), "pending": gettext_lazy("being created"),
                    "active": gettext_lazy("active"), "disabled": gettext_lazy("disabled"),
                    "failed": gettext_lazy("provisioning failed"), "deleted": gettext_lazy("deleted from the panel")}


class LedgerInline(admin.TabularInline):
    model = WalletTransaction
    fields = ("created_at", "amount", "balance_after", "reason", "source", "note")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-id",)
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-id")


_customer_panels: list = []


def register_customer_panel(fn) -> None:
    """fn(customer) -> safe HTML shown on the customer's page (the anti-fraud's risk history and
    bans): another app's view of the customer, without the shop importing that app."""
    if fn not in _customer_panels:
        _customer_panels.append(fn)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("telegram_id", "username", "first_name", "balance_amount", "effective_language", "is_operator",
                    "blocked_at", "joined_at")
    list_filter = ("is_operator", "language", ("blocked_at", admin.EmptyFieldListFilter), "joined_at")
    search_fields = ("=telegram_id", "username", "first_name", "last_name", "referral_code")
    readonly_fields = ("telegram_id", "balance_amount", "referral_code", "referred_by", "joined_at", "last_seen_at",
                       "blocked_at", "telegram_language", "birth_month_set_at")
    # the credit limit is a reseller's term, changed with the reseller (never under what is owed)
    exclude = ("credit_limit_amount",)
    inlines = [LedgerInline]

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "other_apps") if _customer_panels and obj is not None else self.readonly_fields

    @admin.display(description=gettext_lazy("more about this customer"))
    def other_apps(self, obj):
        return format_html_join("", "<div>{}</div>", ((panel(obj),) for panel in _customer_panels))

    @admin.display(description=gettext_lazy("language in use"))
    def effective_language(self, obj):
        """The language the bot speaks to the customer (chosen, else Telegram's, else the shop's)."""
        code = obj.effective_language
        return dict(settings.LANGUAGES).get(code, code)


@admin.register(WalletTransaction)
class WalletTransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer", "amount", "balance_after", "reason", "source")
    list_filter = ("reason",)
    search_fields = ("=customer__telegram_id", "customer__username", "source")
    list_select_related = ("customer",)


class _TargetsRefused(Exception):
    """The provisioner refused the plan's panels: the save is rolled back and the form shown again."""


class PlanForm(forms.ModelForm):
    """A plan, and the panels it is sold on when the provisioner has any (the field is left out
    otherwise). Saved by PlanAdmin.save_related through the provisioner."""

    panels = forms.TypedMultipleChoiceField(
        label=capfirst(gettext_lazy("panels")), coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("A new account goes to the active panel with the most room; none = an operator "
                               "delivers the config."))
    targets_error = ""  # set by PlanAdmin when the provisioner refused what was chosen

    class Meta:
        model = Plan
        fields = "__all__"  # noqa: DJ007 - every field of the plan, as the admin showed before this form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        provisioner = get_provisioner()
        choices = provisioner.plan_target_choices()
        if not choices:
            del self.fields["panels"]
            return
        self.fields["panels"].choices = choices
        if self.instance.pk:
            self.fields["panels"].initial = provisioner.plan_targets([self.instance]).get(self.instance.pk, [])

    def clean_panels(self):
        if self.targets_error:
            raise forms.ValidationError(self.targets_error)
        return self.cleaned_data["panels"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    form = PlanForm
    list_display = ("name", "duration_days", "traffic_gb", "device_limit", "price_amount", "is_active", "sort_order")
    list_editable = ("price_amount", "is_active", "sort_order")
    list_filter = ("is_active",)
    search_fields = ("name",)
    actions = ("delete_selected",)  # ours, below: through the service

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not get_provisioner().plan_target_choices():  # no panels: the form leaves the field out
            fields = [name for name in fields if name != "panels"]
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        error = getattr(request, "_plan_targets_error", "")
        return type(form.__name__, (form,), {"targets_error": error}) if error else form

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "panels" in form.fields:  # in the admin's transaction: refused = nothing saved
            try:
                get_provisioner().set_plan_targets(form.instance, form.cleaned_data["panels"])
            except ProvisioningUnavailable as exc:
                raise _TargetsRefused(str(exc)) from None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _TargetsRefused as exc:  # rolled back: show the form again with the error on the field
            request._plan_targets_error = str(exc)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_model(self, request, obj):
        services.plan_delete(plan_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for plan in queryset:
            services.plan_delete(plan_id=plan.pk)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.ShopError as exc:  # an order came after the confirmation page: nothing was deleted
            self.message_user(request, str(exc), messages.ERROR)
            return redirect("admin:shop_plan_changelist")

    @admin.action(description=gettext_lazy("Delete selected %(verbose_name_plural)s"), permissions=["delete"])
    def delete_selected(self, request, queryset):
        try:
            with transaction.atomic():
                return delete_selected(self, request, queryset)
        except services.ShopError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None


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


class RejectForm(forms.Form):
    reason = forms.CharField(label=capfirst(gettext_lazy("reason for rejection")), max_length=500,
                             help_text=gettext_lazy("The customer will see this."))


class ApproveForm(forms.Form):
    risk_confirm = forms.BooleanField(label=capfirst(gettext_lazy("approve even if the risk checks hold it")), required=False,
                                 help_text=gettext_lazy("The second confirmation of a held receipt (see its risk reasons)."))


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "amount", "status", "risk_score", "risk_action", "reviewer", "created_at",
                    "reviewed_at")
    list_filter = ("status", "risk_action", "created_at")
    search_fields = ("=id", "=customer__telegram_id", "customer__username")
    list_select_related = ("customer",)
    readonly_fields = [f.name for f in Payment._meta.fields]
    actions = ("approve", "reject")

    def has_add_permission(self, request):
        return False

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("shop.review_payment")

    def _not_pending(self, request, payment) -> None:
        self.message_user(request, interpolate(_("Top-up #%(id)s was not pending (it is %(status)s); nothing changed."),
                                               id=payment.pk, status=payment.get_status_display()), messages.WARNING)

    @admin.action(description=gettext_lazy("Approve the selected top-ups…"), permissions=["review"])
    def approve(self, request, queryset):
        def perform(payments, data):
            for payment in payments:
                try:
                    decision = services.payment_approve(payment_id=payment.pk, reviewer=f"admin:{request.user.get_username()}",
                                                        confirm=bool(data.get("risk_confirm")))
                except services.ShopError as exc:
                    self.message_user(request, interpolate(_("Top-up #%(id)s: %(error)s"), id=payment.pk, error=exc),
                                      messages.ERROR)
                    continue
                if decision.changed:
                    self.message_user(request, interpolate(_("Top-up #%(id)s approved: %(amount)s credited."),
                                                           id=payment.pk, amount=money(decision.payment.amount)),
                                      messages.SUCCESS)
                else:
                    self._not_pending(request, decision.payment)

        return confirm_action(self, request, queryset, action="approve", title=_("Approve top-ups"),
                              question=_("The amounts will be credited to the customers' wallets."),
                              confirm_label=_("Approve"), form_class=ApproveForm, perform=perform)

    @admin.action(description=gettext_lazy("Reject the selected top-ups…"), permissions=["review"])
    def reject(self, request, queryset):
        def perform(payments, data):
            for payment in payments:
                try:
                    decision = services.payment_reject(payment_id=payment.pk, reviewer=f"admin:{request.user.get_username()}",
                                                       reason=data["reason"])
                except services.ShopError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                    return
                if decision.changed:
                    self.message_user(request, interpolate(_("Top-up #%(id)s rejected; the customer was told."),
                                                           id=payment.pk), messages.SUCCESS)
                else:
                    self._not_pending(request, decision.payment)

        return confirm_action(self, request, queryset, action="reject", title=_("Reject top-ups"),
                              question=_("The customers will be told, with your reason."), confirm_label=_("Reject"),
                              form_class=RejectForm, perform=perform)


@admin.register(ReferralReward)
class ReferralRewardAdmin(ReadOnlyAdmin):
    list_display = ("referrer", "referred", "order", "amount", "created_at")
    search_fields = ("=referrer__telegram_id", "=referred__telegram_id")


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "name", "customer")
    list_filter = ("name",)
    search_fields = ("=customer__telegram_id",)
    list_select_related = ("customer",)


@admin.register(TrafficPack)
class TrafficPackAdmin(admin.ModelAdmin):
    list_display = ("name", "traffic_gb", "price_amount", "is_active", "sort_order")
    list_editable = ("price_amount", "is_active", "sort_order")
    list_filter = ("is_active",)
    search_fields = ("name",)


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
