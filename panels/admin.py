"""Panels in the admin: panels (their password and token write-only: typed, stored encrypted,
never shown again), a connection test and a usage sync; the accounts on the panels with retry
and repair behind a confirmation. Test, sync, retry and repair need panels.operate_panel."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.db import models, transaction
from django.shortcuts import redirect
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.core.admin_tools import ReadOnlyAdmin, confirm_action, interpolate

from . import reporting, selectors, services
from .models import Panel, PanelAccount

EDITABLE = ("name", "kind", "base_url", "public_base_url", "username", "inbounds", "verify_tls", "timeout_seconds",
            "status", "capacity")
INBOUNDS_HELP = gettext_lazy(
    "A JSON list of what a new account gets. 3x-ui: inbound ids (numbers, at least one), e.g. [1, 3]. "
    "Marzban: inbound tags, e.g. [\"VLESS TCP\"]; [] = every inbound. PasarGuard: group ids, e.g. [2]; "
    "[] = every enabled group. Manual: []. \"Test connection\" lists what the panel has.")


def _https_by_default(db_field, **kwargs):
    """An address typed without a scheme is https (Django 6's default, chosen now)."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class PanelForm(forms.ModelForm):
    password = forms.CharField(
        label=capfirst(gettext_lazy("password")), required=False, strip=False, max_length=4000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Stored encrypted and never shown. Leave it blank to keep the stored one."))
    clear_password = forms.BooleanField(label=gettext_lazy("Remove the stored password"), required=False)
    token = forms.CharField(
        label=capfirst(gettext_lazy("API token")), required=False, strip=False, max_length=4000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("3x-ui 3.0+ API token, PasarGuard API key or a Marzban token, instead of a password. "
                               "Stored encrypted and never shown. Leave it blank to keep the stored one."))
    clear_token = forms.BooleanField(label=gettext_lazy("Remove the stored API token"), required=False)

    class Meta:
        model = Panel
        fields = (*EDITABLE, "plans")
        help_texts = {"inbounds": INBOUNDS_HELP}
        formfield_callback = _https_by_default

    def clean(self):
        data = super().clean()
        panel = self.instance if self.instance.pk else None
        kind = data.get("kind")
        if not kind:
            return data
        if "inbounds" in data:
            try:
                data["inbounds"] = services.inbounds_clean(kind=kind, inbounds=data["inbounds"] or [])
            except services.PanelsError as exc:
                self.add_error("inbounds", str(exc))
        for secret in ("password", "token"):
            if data.get(secret) and data.get(f"clear_{secret}"):
                self.add_error(f"clear_{secret}", _("Type a new one or remove the stored one, not both."))
        if kind != Panel.Kind.MANUAL:
            if "base_url" in data and not data["base_url"]:
                self.add_error("base_url", _("A panel of this kind needs its address."))
            has_password = bool(data.get("password")) or bool(
                panel and panel.password_encrypted and not data.get("clear_password"))
            has_token = bool(data.get("token")) or bool(panel and panel.token_encrypted and not data.get("clear_token"))
            if not has_token and not (data.get("username") and has_password):
                self.add_error("password" if data.get("username") else "username",
                               _("Give a username and password, or an API token."))
        return data

    def secret(self, name: str) -> str | None:
        """The new value of a secret for the service: None keeps it, "" removes it."""
        if self.cleaned_data.get(f"clear_{name}"):
            return ""
        return self.cleaned_data.get(name) or None


class DriftFilter(admin.SimpleListFilter):
    title = gettext_lazy("differences from the shop")
    parameter_name = "drift"

    def lookups(self, request, model_admin):
        return [("1", gettext_lazy("Yes")), ("0", gettext_lazy("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(drift_at__isnull=self.value() == "0")
        return queryset


@admin.register(Panel)
class PanelAdmin(admin.ModelAdmin):
    form = PanelForm
    list_display = ("name", "kind", "status", "capacity", "active_accounts", "version", "checked_at", "synced_at",
                    "short_error")
    list_filter = ("kind", "status")
    search_fields = ("name", "base_url")
    filter_horizontal = ("plans",)
    readonly_fields = ("stored_secrets", "active_accounts", "version", "checked_at", "last_error", "synced_at",
                       "created_at")
    actions = ("test_connection", "sync_now", "delete_selected")

    def get_fieldsets(self, request, obj=None):
        credentials = ["username", "password", "token"]
        if obj is not None:
            credentials = ["stored_secrets", "username", "password", "clear_password", "token", "clear_token"]
        fieldsets = [
            (None, {"fields": ["name", "kind", "status", "capacity", "plans"]}),
            (_("Connection"), {"fields": ["base_url", "public_base_url", "verify_tls", "timeout_seconds"]}),
            (_("Credentials"), {"fields": credentials}),
            (_("New accounts"), {"fields": ["inbounds"]}),
        ]
        if obj is not None:
            fieldsets.append((_("Health"), {"fields": ["active_accounts", "version", "checked_at", "last_error",
                                                       "synced_at", "created_at"]}))
        return fieldsets

    def get_queryset(self, request):
        return selectors.panels_with_counts()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_operate_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("panels.operate_panel")

    @admin.display(description=gettext_lazy("active accounts"), ordering="active_accounts")
    def active_accounts(self, obj):
        count = getattr(obj, "active_accounts", None)
        if count is None:  # the add page
            return "—"
        return f"{count} / {obj.capacity}" if obj.capacity else count

    @admin.display(description=gettext_lazy("last error"))
    def short_error(self, obj):
        return reporting.short(obj.last_error)

    @admin.display(description=gettext_lazy("stored secrets"))
    def stored_secrets(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        yes, no = _("stored"), _("not set")
        return interpolate(_("password: %(password)s; API token: %(token)s"),
                           password=yes if obj.password_encrypted else no, token=yes if obj.token_encrypted else no)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in EDITABLE if name in form.cleaned_data}
        if change:
            services.panel_update(panel_id=obj.pk, password=form.secret("password"), token=form.secret("token"),
                                  **fields)
            return
        panel = services.panel_create(password=form.secret("password") or "", token=form.secret("token") or "",
                                      **fields)
        # the form's instance becomes the saved panel, so that its plans are saved next (save_related)
        obj.pk, obj.password_encrypted, obj.token_encrypted = panel.pk, panel.password_encrypted, panel.token_encrypted
        obj._state.adding, obj._state.db = False, panel._state.db

    def delete_model(self, request, obj):
        services.panel_delete(panel_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for panel in queryset:
            services.panel_delete(panel_id=panel.pk)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.PanelsError as exc:  # an account came after the confirmation page: nothing was deleted
            self.message_user(request, str(exc), messages.ERROR)
            return redirect("admin:panels_panel_changelist")

    @admin.action(description=gettext_lazy("Delete selected %(verbose_name_plural)s"), permissions=["delete"])
    def delete_selected(self, request, queryset):
        try:
            with transaction.atomic():
                return django_delete_selected(self, request, queryset)
        except services.PanelsError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None

    @admin.action(description=gettext_lazy("Test connection (version and inbounds)"), permissions=["operate"])
    def test_connection(self, request, queryset):
        for panel in queryset:
            try:
                info = services.panel_test(panel_id=panel.pk)
            except reporting.ERRORS as exc:
                self.message_user(request, interpolate(_("Panel %(name)s: %(error)s"), name=panel.name,
                                                       error=reporting.error_text(exc)), messages.ERROR)
                continue
            self.message_user(request, interpolate(
                _("Panel %(name)s answered: version %(version)s; inbounds and groups: %(inbounds)s"),
                name=panel.name, version=info.version or "?", inbounds=reporting.inbounds_text(info.inbounds)),
                messages.SUCCESS)

    @admin.action(description=gettext_lazy("Sync usage now…"), permissions=["operate"])
    def sync_now(self, request, queryset):
        def perform(panels, data):
            for panel in panels:
                if panel.kind == Panel.Kind.MANUAL or panel.status == Panel.Status.DISABLED:
                    self.message_user(request, interpolate(_("Panel %(name)s: a manual or disabled panel is not "
                                                             "synced."), name=panel.name), messages.WARNING)
                    continue
                try:
                    result = services.panel_sync(panel_id=panel.pk)
                except reporting.ERRORS as exc:
                    self.message_user(request, interpolate(_("Panel %(name)s: %(error)s"), name=panel.name,
                                                           error=reporting.error_text(exc)), messages.ERROR)
                    continue
                if result.error:
                    self.message_user(request, interpolate(_("Panel %(name)s: the sync stopped: %(error)s"),
                                                           name=panel.name, error=result.error), messages.ERROR)
                else:
                    self.message_user(request, reporting.sync_text(result), messages.SUCCESS)

        return confirm_action(self, request, queryset, action="sync_now", title=_("Sync usage now"),
                              confirm_label=_("Sync"), perform=perform,
                              question=_("Each panel's accounts are read now: usage and status are stored, "
                                         "differences from the shop are recorded, and customers past a usage "
                                         "threshold are warned (once)."))


@admin.register(PanelAccount)
class PanelAccountAdmin(ReadOnlyAdmin):
    list_display = ("name", "panel", "customer", "subscription", "status", "usage", "expires_at", "has_drift",
                    "attempts", "short_error", "synced_at")
    list_filter = ("status", DriftFilter, "panel")
    search_fields = ("name", "=subscription__customer__telegram_id", "subscription__customer__username",
                     "=subscription__id")
    list_select_related = ("panel", "subscription__customer")
    readonly_fields = ("subscription", "customer", "panel", "name", "remote_id", "status", "expires_at", "usage",
                       "devices", "subscription_url", "panel_status", "last_online_at", "synced_at", "attempts",
                       "last_error", "drift", "drift_at", "warned_percent", "created_at", "updated_at")
    fields = readonly_fields
    actions = ("retry_provisioning", "repair")

    def has_operate_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("panels.operate_panel")

    @admin.display(description=gettext_lazy("customer"))
    def customer(self, obj):
        return obj.subscription.customer

    @admin.display(description=gettext_lazy("traffic"))
    def usage(self, obj):
        return reporting.usage_text(obj.used_bytes, obj.limit_bytes)

    @admin.display(boolean=True, description=gettext_lazy("differences"))
    def has_drift(self, obj):
        return obj.drift_at is not None

    @admin.display(description=gettext_lazy("last error"))
    def short_error(self, obj):
        return format_html("<span title=\"{}\">{}</span>", obj.last_error, reporting.short(obj.last_error, 80))

    @admin.action(description=gettext_lazy("Retry provisioning…"), permissions=["operate"])
    def retry_provisioning(self, request, queryset):
        def perform(accounts, data):
            for account in accounts:
                try:
                    services.account_retry(subscription=account.subscription)
                except services.PanelsError as exc:
                    self.message_user(request, interpolate(_("Account %(name)s: %(error)s"), name=account.name,
                                                           error=exc), messages.ERROR)
                    continue
                if account.status in (PanelAccount.Status.FAILED, PanelAccount.Status.PENDING):
                    text = _("Account %(name)s: provisioning was started again.")
                else:
                    text = _("Account %(name)s: the shop's record was pushed to the panel again.")
                self.message_user(request, interpolate(text, name=account.name), messages.SUCCESS)

        return confirm_action(self, request, queryset.select_related("subscription"), action="retry_provisioning",
                              title=_("Retry provisioning"), confirm_label=_("Retry"), perform=perform,
                              question=_("A failed account is made again on its panel (looked up first, so never "
                                         "twice) and its link sent to the customer; any other is pushed again."))

    @admin.action(description=gettext_lazy("Repair (push the shop's truth)…"), permissions=["operate"])
    def repair(self, request, queryset):
        def perform(accounts, data):
            for account in accounts:
                if account.status not in selectors.REPAIRABLE:
                    self.message_user(request, interpolate(
                        _("Account %(name)s is %(status)s: only an active or disabled account can be repaired "
                          "(retry a failed one)."), name=account.name, status=account.get_status_display()),
                        messages.WARNING)
                    continue
                services.account_repair(account_id=account.pk)
                self.message_user(request, interpolate(_("Account %(name)s: the shop's record is being pushed to "
                                                         "the panel."), name=account.name), messages.SUCCESS)

        return confirm_action(self, request, queryset, action="repair", title=_("Repair accounts"),
                              confirm_label=_("Repair"), perform=perform,
                              question=_("The panel is made to match the shop (expiry, traffic limit, devices, on or "
                                         "off); an account missing on the panel is made again and the customer gets "
                                         "the new link."))
