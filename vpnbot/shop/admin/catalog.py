"""What the shop sells: plans (with the panels they are sold on) and traffic packs."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.db import transaction
from django.shortcuts import redirect
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from .. import services
from ..models import (
    Plan,
    TrafficPack,
)
from ..provisioning import ProvisioningUnavailable, get_provisioner


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



@admin.register(TrafficPack)
class TrafficPackAdmin(admin.ModelAdmin):
    list_display = ("name", "traffic_gb", "price_amount", "is_active", "sort_order")
    list_editable = ("price_amount", "is_active", "sort_order")
    list_filter = ("is_active",)
    search_fields = ("name",)
