"""Every provider's payments in one admin list (the card receipts mirrored from the top-ups
included), read-only, with the operator's actions behind a confirmation page: check with the
provider now, credit or refuse a held payment (payments.decide_payment), refund to the provider
(payments.refund_payment). Money moves only with a reason; each payment is reported on its own,
and what the service refuses is shown, not forced. A card receipt is approved or rejected as a
top-up (Shop → Top-ups)."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from vpnbot.core.admin_tools import ReadOnlyAdmin, confirm_action, interpolate
from vpnbot.shop.formatting import money

from . import services
from .models import Payment

# "reason" alone is the ledger's reason ("for what") in the shop's catalog
REASON = pgettext_lazy("an admin's decision", "reason")
# the timeline's events (written in English by the services), as the operator reads them
EVENTS = {
    "created": gettext_lazy("created"),
    "opened": gettext_lazy("opened at the provider"),
    "start failed": gettext_lazy("could not be started"),
    "pending": gettext_lazy("waiting for payment"),
    "paid": gettext_lazy("paid"),
    "paid again": gettext_lazy("paid again (not credited)"),
    "hold": gettext_lazy("paid, but not as asked"),
    "held": gettext_lazy("held for an admin"),
    "held by the risk checks": gettext_lazy("held by the risk checks"),
    "frozen": gettext_lazy("frozen: the customer is banned"),
    "unfrozen": gettext_lazy("the customer's ban is lifted"),
    "failed": gettext_lazy("failed"),
    "expired": gettext_lazy("expired"),
    "refunded": gettext_lazy("refunded"),
    "refused": gettext_lazy("refused by an admin"),
    "order placed": gettext_lazy("order placed"),
    "order not placed": gettext_lazy("order not placed"),
    "credited by an admin": gettext_lazy("credited by an admin"),
    "refused by an admin": gettext_lazy("refused by an admin"),
    "cancelled by the customer": gettext_lazy("cancelled by the customer"),
    "receipt submitted": gettext_lazy("receipt submitted"),
}


def provider_money(amount, currency: str) -> str:
    """An amount at the provider with all its digits (crypto has many) and its currency."""
    if amount is None:
        return "—"
    return f"{amount.normalize():,f} {currency}".strip()


def _when(text: str) -> str:
    try:
        at = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    if timezone.is_aware(at):
        at = timezone.localtime(at)
    return at.strftime("%Y-%m-%d %H:%M:%S")


class ReasonForm(forms.Form):
    reason = forms.CharField(label=capfirst(REASON), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text=gettext_lazy("Kept on each payment's record."))


class RefuseForm(ReasonForm):
    reason = forms.CharField(label=capfirst(REASON), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text=gettext_lazy("Kept on each payment's record; the customer will see it."))


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("id", "provider", "provider_payment_id", "customer", "purpose", "shown_amount", "asked", "status",
                    "shown_risk_score", "created_at", "paid_at")
    list_filter = ("provider", "status", "purpose")
    search_fields = ("provider_payment_id", "=customer__telegram_id", "customer__username")
    list_select_related = ("customer", "receipt")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("provider", "provider_payment_id", "customer", "purpose", "status", "status_detail", "note",
                           "decided_by")}),
        (gettext_lazy("Money"), {"fields": ("shown_amount", "asked", "received", "plan", "quantity", "expected_total",
                                            "discount_code", "order", "receipt", "pay_url")}),
        (gettext_lazy("Risk"), {"fields": ("risk_score", "risk_action", "risk_reasons_list")}),
        (gettext_lazy("History"), {"fields": ("timeline_table", "created_at", "checked_at", "paid_at", "updated_at")}),
    )
    readonly_fields = ("provider", "provider_payment_id", "customer", "purpose", "status", "status_detail", "note",
                       "decided_by", "shown_amount", "asked", "received", "plan", "quantity", "expected_total",
                       "discount_code", "order", "receipt", "pay_url", "timeline_table", "created_at", "checked_at",
                       "paid_at", "updated_at", "risk_score", "risk_action", "risk_reasons_list")
    actions = ("check_now", "credit_held", "refuse", "refund")

    def has_decide_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("payments.decide_payment")

    def has_refund_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("payments.refund_payment")

    # --- what the pages show --------------------------------------------------------------------

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def shown_amount(self, obj):
        return money(obj.amount)

    @admin.display(description=gettext_lazy("amount asked at the provider"), ordering="provider_amount")
    def asked(self, obj):
        return provider_money(obj.provider_amount, obj.currency)

    @admin.display(description=gettext_lazy("amount the provider reported"))
    def received(self, obj):
        return provider_money(obj.received_amount, obj.received_currency)

    @admin.display(description=gettext_lazy("risk score"), ordering="risk_score")
    def shown_risk_score(self, obj):
        """A card receipt is scored as a top-up: its row shows the receipt's score."""
        return obj.receipt.risk_score if obj.receipt_id else obj.risk_score

    @admin.display(description=gettext_lazy("risk reasons"))
    def risk_reasons_list(self, obj):
        source = obj.receipt if obj.receipt_id else obj
        reasons = [str(r) for r in (source.risk_reasons or [])]
        if not reasons:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((r,) for r in reasons)))

    @admin.display(description=gettext_lazy("timeline"))
    def timeline_table(self, obj):
        entries = [e for e in (obj.timeline or []) if isinstance(e, dict)]
        if not entries:
            return "—"
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td><bdi>{}</bdi></td><td>{}</td><td><bdi>{}</bdi></td></tr>",
            ((_when(e.get("at", "")), EVENTS.get(e.get("event"), e.get("event", "")), e.get("detail", ""))
             for e in entries)))

    # --- the actions ----------------------------------------------------------------------------

    def _by(self, request) -> str:
        return f"admin:{request.user.get_username()}"

    def _refused(self, request, payment: Payment, exc: services.PaymentsError) -> None:
        """What the service refused, per payment; a card receipt points to its top-up."""
        text = interpolate(_("Payment #%(id)s: %(error)s"), id=payment.pk, error=exc)
        if payment.provider == Payment.Provider.CARD and payment.receipt_id:
            text = format_html('{} <a href="{}">{}</a>', text,
                               reverse("admin:shop_payment_change", args=[payment.receipt_id]),
                               interpolate(_("Approve or reject it as top-up #%(id)s."), id=payment.receipt_id))
        self.message_user(request, text, messages.ERROR if exc.retry else messages.WARNING)

    @admin.action(description=gettext_lazy("Check with the provider now…"), permissions=["decide"])
    def check_now(self, request, queryset):
        def perform(payments, data):
            for payment in payments:
                try:
                    applied = services.payment_check(payment_id=payment.pk, via=self._by(request))
                except services.PaymentsError as exc:
                    self._refused(request, payment, exc)
                    continue
                now = applied.payment
                if applied.credited:
                    self.message_user(request, interpolate(_("Payment #%(id)s is paid: %(amount)s credited."),
                                                           id=now.pk, amount=money(now.amount)), messages.SUCCESS)
                elif applied.changed and now.status == Payment.Status.HELD:
                    self.message_user(request, interpolate(_("Payment #%(id)s is held: %(why)s"), id=now.pk,
                                                           why=now.note), messages.WARNING)
                else:
                    self.message_user(request, interpolate(
                        _("Payment #%(id)s is %(status)s (the provider says: %(detail)s)."), id=now.pk,
                        status=now.get_status_display(), detail=now.status_detail or "—"), messages.INFO)

        return confirm_action(self, request, queryset, action="check_now", title=_("Check with the provider now"),
                              confirm_label=_("Check"), perform=perform,
                              question=_("Each payment is looked up at its provider now and the answer applied: a "
                                         "payment found paid is credited (once), one paid differently from what was "
                                         "asked is held for an admin."))

    @admin.action(description=gettext_lazy("Credit held payments…"), permissions=["decide"])
    def credit_held(self, request, queryset):
        def perform(payments, data):
            for payment in payments:
                try:
                    applied = services.payment_credit_held(payment_id=payment.pk, by=self._by(request),
                                                           reason=data["reason"])
                except services.PaymentsError as exc:
                    self._refused(request, payment, exc)
                    continue
                text = interpolate(_("Payment #%(id)s credited: %(amount)s to %(customer)s's wallet."),
                                   id=payment.pk, amount=money(applied.payment.amount), customer=payment.customer)
                if applied.order is not None:
                    text += " " + interpolate(_("Order #%(order)s placed."), order=applied.order.pk)
                self.message_user(request, text, messages.SUCCESS)

        return confirm_action(self, request, queryset.select_related("customer"), action="credit_held",
                              title=_("Credit held payments"), confirm_label=_("Credit"), form_class=ReasonForm,
                              perform=perform,
                              question=_("Each payment's amount is credited to its customer's wallet (and its order "
                                         "placed, for a payment that pays one). Do this only after seeing the money "
                                         "at the provider."))

    @admin.action(description=gettext_lazy("Refuse…"), permissions=["decide"])
    def refuse(self, request, queryset):
        def perform(payments, data):
            for payment in payments:
                try:
                    services.payment_refuse(payment_id=payment.pk, by=self._by(request), reason=data["reason"])
                except services.PaymentsError as exc:
                    self._refused(request, payment, exc)
                    continue
                self.message_user(request, interpolate(_("Payment #%(id)s refused; the customer was told."),
                                                       id=payment.pk), messages.SUCCESS)

        return confirm_action(self, request, queryset, action="refuse", title=_("Refuse payments"),
                              confirm_label=_("Refuse"), form_class=RefuseForm, perform=perform,
                              question=_("Nothing is credited for these payments; each customer is told your "
                                         "reason. Money that did arrive at the provider is yours to give back there."))

    @admin.action(description=gettext_lazy("Refund to the provider…"), permissions=["refund"])
    def refund(self, request, queryset):
        def perform(payments, data):
            for payment in payments:
                if payment.provider == Payment.Provider.CARD:
                    self.message_user(request, interpolate(
                        _("Payment #%(id)s is a card top-up: it is not refunded from here. Refund its order to the "
                          "wallet, or pay the customer back outside the shop."), id=payment.pk), messages.WARNING)
                    continue
                try:
                    done = services.payment_refund(payment_id=payment.pk, by=self._by(request), reason=data["reason"])
                except services.PaymentsError as exc:
                    self._refused(request, payment, exc)
                    continue
                self.message_user(request, interpolate(
                    _("Payment #%(id)s refunded: %(asked)s back to the customer at %(provider)s."), id=done.pk,
                    asked=provider_money(done.provider_amount, done.currency), provider=done.get_provider_display()),
                    messages.SUCCESS)

        return confirm_action(self, request, queryset, action="refund", title=_("Refund to the provider"),
                              confirm_label=_("Refund"), form_class=ReasonForm, perform=perform,
                              question=_("Each payment goes back to its customer at the provider and its amount "
                                         "leaves their wallet; a payment that placed an order refunds the order in "
                                         "full first (its service stops). Only a paid payment of a provider that "
                                         "refunds (Telegram Stars) can be refunded."))
