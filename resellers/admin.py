"""The resellers in the admin: the list (tier, wallet, credit, accounts running), promote a
customer from the add form and change terms and per-plan prices on the change form, both
through the services (reseller_promote / reseller_update: their rules, such as a credit limit
never under what is owed, come back as form errors); demote behind a confirmation page, issue
an API key (shown once), download this month's or last month's statement. Their accounts,
purchases, commissions and API keys are read-only lists; a key is shown by its first
characters only, never its hash, and can be revoked. Permissions: the model's view / add /
change, and resellers.manage_reseller to demote and for keys."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.core import bounds
from vpnbot.core.admin_tools import ReadOnlyAdmin, confirm_action, interpolate
from vpnbot.shop.formatting import money

from . import selectors, services
from .models import Account, Batch, Commission, Reseller, ResellerPrice, Token

TERMS = ("discount_bp", "markup_bp", "commission_bp", "floor_bp", "daily_account_limit", "is_frozen", "note")


def _manage(request) -> bool:
    return request.user.is_active and request.user.has_perm("resellers.manage_reseller")


class _DryRun(Exception):
    """Rolls back a service call made only to hear its refusal."""


class ResellerChangeForm(forms.ModelForm):
    """The terms, saved by services.reseller_update (only what changed); the service's refusal is
    the form's error."""

    credit_limit_amount = forms.IntegerField(
        label=gettext_lazy("credit limit"), min_value=0, max_value=bounds.MAX_AMOUNT, initial=0,
        help_text=gettext_lazy("How far below zero the reseller's wallet may go; never under what they owe"))

    class Meta:
        model = Reseller
        fields = ("parent", *TERMS, "plans")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "credit_limit_amount" in self.fields:
            self.fields["credit_limit_amount"].initial = self.instance.customer.credit_limit_amount

    def _changed(self, name: str) -> bool:
        return name in self.fields and name in self.changed_data

    def apply(self, *, by: str) -> Reseller:
        data = self.cleaned_data
        fields = {name: data[name] for name in TERMS if self._changed(name)}
        if self._changed("plans"):
            fields["plan_ids"] = [plan.pk for plan in data["plans"]]
        if self._changed("parent"):
            fields["parent_id"] = data["parent"].pk if data["parent"] else None
        limit = data["credit_limit_amount"] if self._changed("credit_limit_amount") else None
        return services.reseller_update(reseller_id=self.instance.pk, by=by, credit_limit_amount=limit, **fields)

    def clean(self):
        cleaned = super().clean()
        if not self._errors:
            try:
                with transaction.atomic():
                    self.apply(by="admin:check")
                    raise _DryRun
            except _DryRun:
                pass
            except services.ResellerError as exc:
                raise forms.ValidationError(str(exc)) from None
        return cleaned


class ResellerAddForm(ResellerChangeForm):
    """Promote a customer: services.reseller_promote (a demoted reseller's customer becomes one again)."""

    class Meta(ResellerChangeForm.Meta):
        fields = ("customer", "parent", *TERMS, "plans")

    def validate_unique(self):
        """The service says whether the customer is a reseller already (a demoted one may come back)."""

    def apply(self, *, by: str) -> Reseller:
        data = self.cleaned_data
        fields = {name: data[name] for name in TERMS if name != "discount_bp" and self._changed(name)}
        if data.get("plans"):
            fields["plan_ids"] = [plan.pk for plan in data["plans"]]
        return services.reseller_promote(customer_id=data["customer"].pk, by=by,
                                         parent_id=data["parent"].pk if data.get("parent") else None,
                                         discount_bp=data.get("discount_bp") or 0,
                                         credit_limit_amount=data.get("credit_limit_amount") or 0, **fields)


class ResellerPriceInline(admin.TabularInline):
    """Per-plan prices, saved through services.reseller_update."""

    model = ResellerPrice
    extra = 0
    fields = ("plan", "price_amount")


@admin.register(Reseller)
class ResellerAdmin(admin.ModelAdmin):
    list_display = ("customer", "parent", "tier", "balance", "credit_limit", "credit_used", "accounts_running",
                    "is_frozen", "is_active")
    list_filter = ("is_active", "is_frozen", ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("customer__username", "=customer__telegram_id")
    raw_id_fields = ("customer", "parent")
    inlines = [ResellerPriceInline]
    actions = ("demote", "issue_token", "statement_this_month", "statement_last_month")
    change_readonly = ("customer", "is_active", "balance", "credit_used", "accounts_running", "month_figures",
                       "commission_total", "created_at", "demoted_at")

    def get_queryset(self, request):
        return selectors.resellers_overview()

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = ResellerChangeForm if obj is not None else ResellerAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        terms = (gettext_lazy("Terms"), {"fields": ("parent", "discount_bp", "markup_bp", "commission_bp", "floor_bp",
                                                    "credit_limit_amount", "daily_account_limit", "is_frozen", "plans",
                                                    "note")})
        if obj is None:
            return ((None, {"fields": ("customer",)}), terms)
        return ((None, {"fields": ("customer", "is_active", "created_at", "demoted_at")}), terms,
                (gettext_lazy("Wallet and figures"), {"fields": ("balance", "credit_used", "accounts_running",
                                                                 "month_figures", "commission_total")}))

    def get_readonly_fields(self, request, obj=None):
        return self.change_readonly if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # demote instead: the history is kept

    def has_manage_permission(self, request) -> bool:
        return _manage(request)

    # --- saving through the services --------------------------------------------------------------

    def _by(self, request) -> str:
        return f"admin:{request.user.get_username()}"

    def save_model(self, request, obj, form, change):
        reseller = form.apply(by=self._by(request))
        obj.pk = obj.id = reseller.pk
        obj._state.adding, obj._state.db = False, reseller._state.db

    def save_related(self, request, form, formsets, change):
        """Plans were set by the service; prices go through reseller_update too."""
        prices: dict[int, int | None] = {}
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if formset.model is not ResellerPrice:
                continue
            for price_form in formset.forms:
                data = getattr(price_form, "cleaned_data", None) or {}
                was = price_form.initial.get("plan") if price_form.instance.pk else None
                if data.get("DELETE"):
                    if was is not None:
                        prices.setdefault(was, None)
                    continue
                if not price_form.has_changed() or not data.get("plan"):
                    continue
                if was is not None and was != data["plan"].pk:
                    prices.setdefault(was, None)
                prices[data["plan"].pk] = data["price_amount"]
        if prices:
            services.reseller_update(reseller_id=form.instance.pk, by=self._by(request), prices=prices)

    # --- what the pages show --------------------------------------------------------------------

    @admin.display(description=gettext_lazy("tier"), ordering="discount_bp")
    def tier(self, obj):
        return f"{obj.discount_bp / 100:g}%"

    @admin.display(description=gettext_lazy("balance"), ordering="customer__balance_amount")
    def balance(self, obj):
        return money(obj.customer.balance_amount)

    @admin.display(description=gettext_lazy("credit limit"), ordering="customer__credit_limit_amount")
    def credit_limit(self, obj):
        return money(obj.customer.credit_limit_amount)

    @admin.display(description=gettext_lazy("credit used"))
    def credit_used(self, obj):
        return money(max(-obj.customer.balance_amount, 0))

    @admin.display(description=gettext_lazy("accounts running"), ordering="running")
    def accounts_running(self, obj):
        return getattr(obj, "running", 0)

    @admin.display(description=gettext_lazy("this month"))
    def month_figures(self, obj):
        now = timezone.localtime()
        start, end = services.month_bounds(now.year, now.month)
        f = services.reseller_figures(reseller=obj, start=start, end=end)
        return interpolate(_("%(bought)s accounts bought, %(renewals)s renewals, %(spent)s spent, %(commission)s "
                             "commission, %(subs)s sub-resellers"), bought=f.accounts_bought, renewals=f.renewals,
                           spent=money(f.spent_amount), commission=money(f.commission_amount), subs=f.sub_resellers)

    @admin.display(description=gettext_lazy("commission earned"))
    def commission_total(self, obj):
        return money(selectors.commission_total(obj.pk))

    # --- the actions ----------------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Demote…"), permissions=["manage"])
    def demote(self, request, queryset):
        def perform(resellers, data):
            for reseller in resellers:
                services.reseller_demote(reseller_id=reseller.pk, by=self._by(request))
                self.message_user(request, interpolate(_("%(reseller)s is no longer a reseller."), reseller=reseller),
                                  messages.SUCCESS)

        return confirm_action(self, request, queryset, action="demote", title=_("Demote resellers"),
                              confirm_label=_("Demote"), perform=perform,
                              question=_("They can no longer buy or renew as resellers and their API keys are revoked. "
                                         "Their accounts keep running until they end; what they owe stays owed."))

    @admin.action(description=gettext_lazy("Issue an API key"), permissions=["manage"])
    def issue_token(self, request, queryset):
        for reseller in queryset:
            try:
                _token, key = services.token_create(reseller_id=reseller.pk, name=_("made in the admin"))
            except services.ResellerError as exc:
                self.message_user(request, interpolate(_("%(reseller)s: %(error)s"), reseller=reseller, error=exc),
                                  messages.ERROR)
                continue
            self.message_user(request, interpolate(
                _("New API key for %(reseller)s: %(key)s — copy it now, it is not shown again."),
                reseller=reseller, key=key), messages.WARNING)

    def _statement(self, request, queryset, year: int, month: int):
        if queryset.count() != 1:
            self.message_user(request, _("Choose one reseller for a statement."), messages.WARNING)
            return None
        name, content = services.reseller_statement_csv(reseller=queryset.get(), year=year, month=month)
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description=gettext_lazy("Download this month's statement (CSV)"), permissions=["view"])
    def statement_this_month(self, request, queryset):
        now = timezone.localtime()
        return self._statement(request, queryset, now.year, now.month)

    @admin.action(description=gettext_lazy("Download last month's statement (CSV)"), permissions=["view"])
    def statement_last_month(self, request, queryset):
        now = timezone.localtime()
        year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
        return self._statement(request, queryset, year, month)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "label", "reseller", "plan", "status", "expires_at", "created_at")
    search_fields = ("label", "=id")
    list_select_related = ("reseller__customer", "subscription__plan", "first_subscription")
    list_filter = ("created_at",)  # not date_hierarchy: MariaDB without time zone tables cannot group by date
    fields = ("label", "reseller", "batch", "plan", "status", "expires_at", "first_subscription", "subscription",
              "disabled_at", "created_at")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("plan"))
    def plan(self, obj):
        return obj.subscription.plan

    @admin.display(description=gettext_lazy("status"))
    def status(self, obj):
        return services.account_status(obj, None)

    @admin.display(description=gettext_lazy("expires at"), ordering="subscription__expires_at")
    def expires_at(self, obj):
        return obj.subscription.expires_at


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = ("id", "reseller", "plan", "quantity", "periods", "unit", "total", "created_at", "file_sent_at")
    search_fields = ("=id", "reseller__customer__username", "=reseller__customer__telegram_id")
    list_select_related = ("reseller__customer", "plan")
    list_filter = ("created_at",)  # not date_hierarchy: MariaDB without time zone tables cannot group by date
    fields = ("reseller", "plan", "quantity", "periods", "unit", "total", "created_at", "file_sent_at")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("price per account"), ordering="unit_amount")
    def unit(self, obj):
        return money(obj.unit_amount)

    @admin.display(description=gettext_lazy("total"), ordering="total_amount")
    def total(self, obj):
        return money(obj.total_amount)


@admin.register(Commission)
class CommissionAdmin(ReadOnlyAdmin):
    list_display = ("id", "reseller", "sub_reseller", "order", "earned", "taken_back", "not_recovered", "created_at")
    search_fields = ("=order__id", "reseller__customer__username", "sub_reseller__customer__username")
    list_select_related = ("reseller__customer", "sub_reseller__customer", "order")
    list_filter = ("created_at",)  # not date_hierarchy: MariaDB without time zone tables cannot group by date

    @admin.display(description=gettext_lazy("commission"), ordering="amount")
    def earned(self, obj):
        return money(obj.amount)

    @admin.display(description=gettext_lazy("taken back"))
    def taken_back(self, obj):
        return money(obj.reversed_amount)

    @admin.display(description=gettext_lazy("not recovered"))
    def not_recovered(self, obj):
        return money(obj.unrecovered_amount)


@admin.register(Token)
class TokenAdmin(ReadOnlyAdmin):
    """Keys by their first characters only: the hash is never shown."""

    list_display = ("prefix_shown", "name", "reseller", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix", "reseller__customer__username")
    list_select_related = ("reseller__customer",)
    fields = ("reseller", "name", "prefix_shown", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke",)

    def has_manage_permission(self, request) -> bool:
        return _manage(request)

    @admin.display(description=gettext_lazy("key starts with"), ordering="prefix")
    def prefix_shown(self, obj):
        return f"{obj.prefix}…"

    @admin.action(description=gettext_lazy("Revoke"), permissions=["manage"])
    def revoke(self, request, queryset):
        for token in queryset:
            services.token_revoke(token_id=token.pk)
        self.message_user(request, interpolate(_("%(count)s key(s) revoked."), count=queryset.count()),
                          messages.SUCCESS)
