"""Card-receipt top-ups: approve (a held one on a second confirmation) or reject."""

from django import forms
from django.contrib import admin, messages
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.core.admin_tools import confirm_action, interpolate

from .. import services
from ..formatting import money
from ..models import (
    Payment,
)


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
