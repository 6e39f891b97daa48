"""The anti-fraud in the admin: the rules (on/off, score, thresholds: no code change to tune),
the cases with their reasons (release or confirm, after a confirmation page with the reason),
every decision, bans (add = ban; lift with a reason), the whitelist; on each customer's page
their risk history and bans."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.core.admin_tools import ReadOnlyAdmin, confirm_action, interpolate
from vpnbot.shop.admin import register_customer_panel

from . import rules, selectors, services
from .models import Ban, ReceiptFingerprint, RiskCase, RiskDecision, RiskRule, Whitelist


class ReasonForm(forms.Form):
    reason = forms.CharField(label=capfirst(gettext_lazy("reason")), max_length=500,
                             help_text=gettext_lazy("Kept with the decision."))


@admin.register(RiskRule)
class RiskRuleAdmin(admin.ModelAdmin):
    list_display = ("key", "enabled", "score", "params", "updated_at")
    list_editable = ("enabled", "score")
    readonly_fields = ("key", "updated_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        defaults = rules.DEFAULTS.get(obj.key, (0, {}))[1]
        params = obj.params if isinstance(obj.params, dict) else {}
        obj.params = {k: v for k, v in params.items() if k in defaults and isinstance(v, int) and v >= 0}
        super().save_model(request, obj, form, change)


@admin.register(RiskCase)
class RiskCaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "subject", "subject_id", "customer", "score", "status", "short_reasons", "amount",
                    "created_at", "decided_by")
    list_filter = ("status", "subject", "created_at", ("customer", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=id", "=subject_id", "=customer__telegram_id", "customer__username")
    list_select_related = ("customer",)
    actions = ("release", "confirm")

    @admin.display(description=gettext_lazy("reasons"))
    def short_reasons(self, obj):
        return "; ".join(obj.reasons or [])

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("antifraud.decide_riskcase")

    def _decide(self, request, queryset, decide, *, action, title, question, label):
        def perform(cases, data):
            who = f"admin:{request.user.get_username()}"
            for case in cases:
                try:
                    decide(case_id=case.pk, by=who, why=data["reason"])
                    self.message_user(request, interpolate(_("Case #%(id)s: done."), id=case.pk), messages.SUCCESS)
                except services.AntifraudError as exc:
                    self.message_user(request, interpolate(_("Case #%(id)s: %(error)s"), id=case.pk, error=exc),
                                      messages.ERROR)

        return confirm_action(self, request, queryset, action=action, title=title, question=question,
                              confirm_label=label, form_class=ReasonForm, perform=perform)

    @admin.action(description=gettext_lazy("Release the selected cases…"), permissions=["decide"])
    def release(self, request, queryset):
        return self._decide(request, queryset, services.case_release, action="release", title=_("Release cases"),
                            question=_("Held referral rewards are paid and held trials start now; receipts and "
                                       "refunds go through at their next approval."), label=_("Release"))

    @admin.action(description=gettext_lazy("Confirm the hold of the selected cases…"), permissions=["decide"])
    def confirm(self, request, queryset):
        return self._decide(request, queryset, services.case_confirm, action="confirm", title=_("Confirm holds"),
                            question=_("Held rewards are never paid and held trials are refused (the customer is "
                                       "told politely)."), label=_("Confirm"))


@admin.register(RiskDecision)
class RiskDecisionAdmin(ReadOnlyAdmin):
    list_display = ("at", "customer", "action", "by", "why", "case")
    list_filter = ("action", "at")
    search_fields = ("=customer__telegram_id", "customer__username", "by")
    list_select_related = ("customer", "case")


class BanForm(forms.ModelForm):
    class Meta:
        model = Ban
        fields = ("customer", "reason")


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    list_display = ("customer", "reason", "by", "created_at", "told_at", "lifted_at", "lifted_by")
    list_filter = (("lifted_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("=customer__telegram_id", "customer__username", "reason")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    actions = ("lift",)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = BanForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Ban._meta.fields] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return request.user.has_perm("antifraud.ban_customer")

    def has_ban_permission(self, request) -> bool:
        return request.user.has_perm("antifraud.ban_customer")

    def save_model(self, request, obj, form, change):
        if change:
            return
        ban = services.customer_ban(customer_id=obj.customer_id, by=f"admin:{request.user.get_username()}",
                                    reason=obj.reason)
        obj.pk, obj.telegram_id, obj.created_at = ban.pk, ban.telegram_id, ban.created_at

    @admin.action(description=gettext_lazy("Lift the selected bans…"), permissions=["ban"])
    def lift(self, request, queryset):
        def perform(bans, data):
            for ban in bans:
                services.customer_unban(customer_id=ban.customer_id, by=f"admin:{request.user.get_username()}",
                                        reason=data["reason"])
            self.message_user(request, _("The bans are lifted."), messages.SUCCESS)

        return confirm_action(self, request, queryset.filter(lifted_at__isnull=True), action="lift",
                              title=_("Lift bans"), question=_("The bot serves these customers again and their "
                                                                "frozen payments can be decided."),
                              confirm_label=_("Lift"), form_class=ReasonForm, perform=perform)


@admin.register(Whitelist)
class WhitelistAdmin(admin.ModelAdmin):
    list_display = ("customer", "by", "why", "created_at")
    search_fields = ("=customer__telegram_id", "customer__username")
    raw_id_fields = ("customer",)
    readonly_fields = ("by", "created_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        services.customer_whitelist(customer_id=obj.customer_id, by=f"admin:{request.user.get_username()}", why=obj.why)

    def delete_model(self, request, obj):
        services.customer_unwhitelist(customer_id=obj.customer_id, by=f"admin:{request.user.get_username()}",
                                      why=_("removed in the admin"))

    def delete_queryset(self, request, queryset):
        for entry in queryset:
            self.delete_model(request, entry)


@admin.register(ReceiptFingerprint)
class ReceiptFingerprintAdmin(ReadOnlyAdmin):
    list_display = ("payment", "customer", "phash", "created_at")
    search_fields = ("=payment__id", "=phash")


def customer_panel(customer) -> str:
    """The customer's page in the shop's admin: their bans and risk history (newest first)."""
    rows = [(d.at.strftime("%Y-%m-%d %H:%M"), d.action, d.by, d.why)
            for d in selectors.customer_history(customer.pk)[:50]]
    bans = [(b.created_at.strftime("%Y-%m-%d %H:%M"), b.reason, b.by, _("lifted") if b.lifted_at else _("active"))
            for b in Ban.objects.filter(customer=customer)[:20]]
    cases = reverse("admin:antifraud_riskcase_changelist") + f"?customer__id__exact={customer.pk}"
    return format_html(
        "<strong>{}</strong><table>{}</table><strong>{}</strong><table>{}</table><a href=\"{}\">{}</a>",
        _("Bans"), format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", bans) or _("none"),
        _("Risk history"),
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows) or _("nothing recorded"),
        cases, _("Risk cases of this customer"))


register_customer_panel(customer_panel)
