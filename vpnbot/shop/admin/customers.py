"""Customers with their wallet ledger (and the panels other apps add to a customer's page), the
ledger, referral rewards and the shop's events."""

from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy

from vpnbot.core.admin_tools import ReadOnlyAdmin

from ..models import (
    Customer,
    DomainEvent,
    ReferralReward,
    WalletTransaction,
)


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
