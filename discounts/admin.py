"""Admin site: full editing of discounts and cashback rules (JSON validated by the same rules
as the bot and the API); usages, cashback transactions and profiles are read-only."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from vpnbot.core.admin_tools import ReadOnlyAdmin, interpolate

from . import selectors, services
from .models import CashbackRule, CashbackTransaction, DiscountUsage, SmartDiscount, UserDiscountProfile


class PrettyJSONWidget(forms.Textarea):
    def format_value(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class SmartDiscountForm(forms.ModelForm):
    class Meta:
        model = SmartDiscount
        fields = ["kind", "title", "percent_bp", "fixed_amount", "cap_amount", "params", "conditions", "code", "customer",
                  "starts_at", "ends_at", "max_uses", "per_customer_limit", "priority", "stackable", "for_resellers", "status",
                  "source", "created_by"]
        widgets = {"params": PrettyJSONWidget(attrs={"rows": 6, "cols": 80}),
                   "conditions": PrettyJSONWidget(attrs={"rows": 10, "cols": 80})}
        # (the admin shows help texts as HTML: the JSON stays left to right inside a Persian page)
        help_texts = {
            "conditions": format_lazy('{} <code dir="ltr">{}</code>', _("For example:"),
                                      '{"all": [{"plan_in": [1, 2]}, {"quantity": {"gte": 3}}, '
                                      '{"not": {"level": ["bronze"]}}]}'),
            "params": format_lazy("<br>".join(['{}: <code dir="ltr">{}</code>'] * 4),
                                  SmartDiscount.Kind.HOURLY.label, '{"weekdays": [5, 6], "ranges": [["20:00", "23:00"]]}',
                                  SmartDiscount.Kind.BULK.label,
                                  '{"basis": "quantity", "tiers": [{"min": 3, "percent_bp": 500}]}',
                                  SmartDiscount.Kind.LOYALTY.label, '{"levels": ["gold"]}',
                                  SmartDiscount.Kind.SEASONAL.label,
                                  '{"calendar": "jalali", "from": "12-25", "to": "01-13"}'),
        }


class UsageInline(admin.TabularInline):
    model = DiscountUsage
    extra = 0
    can_delete = False
    fields = ["order", "customer", "amount", "created_at", "released_at"]
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SmartDiscount)
class SmartDiscountAdmin(admin.ModelAdmin):
    form = SmartDiscountForm
    list_display = ["id", "kind", "title", "code", "percent_bp", "fixed_amount", "status", "used_count", "max_uses",
                    "priority", "stackable", "starts_at", "ends_at"]
    list_filter = ["kind", "status", "stackable", "for_resellers", "source"]
    search_fields = ["title", "code"]
    raw_id_fields = ["customer"]
    readonly_fields = ["used_count", "created_at"]
    inlines = [UsageInline]
    actions = ["pause", "resume"]

    @admin.action(description=_("Pause the selected discounts"), permissions=["change"])
    def pause(self, request, queryset):
        self._set_status(request, queryset, SmartDiscount.Status.PAUSED)

    @admin.action(description=_("Resume the selected discounts"), permissions=["change"])
    def resume(self, request, queryset):
        self._set_status(request, queryset, SmartDiscount.Status.ACTIVE)

    def _set_status(self, request, queryset, status: str) -> None:
        """Through discounts.services.discount_set_status, one discount at a time; the ones
        already in that status are left alone, an archived one is refused with its reason."""
        changed = 0
        for pk in selectors.discount_ids_to_change(queryset, status=status):
            try:
                services.discount_set_status(discount_id=pk, status=status)
            except services.DiscountError as exc:
                self.message_user(request, interpolate(gettext("Discount #%(id)s: %(error)s"), id=pk, error=exc),
                                  messages.ERROR)
                continue
            changed += 1
        if status == SmartDiscount.Status.PAUSED:
            text = ngettext("%(n)d discount paused.", "%(n)d discounts paused.", changed)
        else:
            text = ngettext("%(n)d discount resumed.", "%(n)d discounts resumed.", changed)
        self.message_user(request, interpolate(text, n=changed), messages.SUCCESS)

    def delete_model(self, request, obj):
        try:
            outcome = services.discount_delete(discount_id=obj.pk)
        except services.DiscountError as exc:
            self.message_user(request, interpolate(gettext("Discount #%(id)s: %(error)s"), id=obj.pk, error=exc),
                              messages.ERROR)
            return
        if outcome == "archived":
            self.message_user(request, interpolate(gettext("Discount #%(id)s had uses: archived instead of deleted."),
                                                   id=obj.pk), messages.WARNING)

    def delete_queryset(self, request, queryset):
        for discount in queryset:
            self.delete_model(request, discount)


class CashbackRuleForm(forms.ModelForm):
    class Meta:
        model = CashbackRule
        fields = ["title", "percent_bp", "fixed_amount", "cap_amount", "min_amount", "plans", "conditions", "customer",
                  "delay_days", "starts_at", "ends_at", "is_active", "source"]
        widgets = {"conditions": PrettyJSONWidget(attrs={"rows": 8, "cols": 80})}


@admin.register(CashbackRule)
class CashbackRuleAdmin(admin.ModelAdmin):
    form = CashbackRuleForm
    list_display = ["id", "title", "percent_bp", "fixed_amount", "cap_amount", "min_amount", "delay_days", "is_active",
                    "customer", "ends_at"]
    list_filter = ["is_active", "source"]
    raw_id_fields = ["customer"]
    filter_horizontal = ["plans"]


@admin.register(DiscountUsage)
class DiscountUsageAdmin(ReadOnlyAdmin):
    list_display = ["id", "discount", "customer", "order", "amount", "created_at", "released_at"]
    list_select_related = ["discount", "customer"]
    list_filter = ["discount__kind"]
    date_hierarchy = "created_at"


@admin.register(CashbackTransaction)
class CashbackTransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "order", "amount", "status", "due_at", "credited_at", "reversed_amount",
                    "unrecovered_amount"]
    list_select_related = ["customer"]
    list_filter = ["status"]


@admin.register(UserDiscountProfile)
class UserDiscountProfileAdmin(ReadOnlyAdmin):
    list_display = ["customer", "level", "lifetime_spend_amount", "total_saved_amount", "cashback_earned_amount",
                    "paid_orders", "updated_at"]
    list_select_related = ["customer"]
    list_filter = ["level"]
    search_fields = ["customer__username", "customer__telegram_id"]
