"""Admin actions behind an intermediate confirmation page."""

from django import forms
from django.contrib import admin
from django.shortcuts import render


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records kept for the record (ledgers, logs, usages): visible, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def confirm_action(modeladmin, request, queryset, *, action: str, title: str, question: str,
                   confirm_label: str, form_class: type[forms.Form] | None = None, perform):
    """Show a confirmation page (with an optional form); on confirmation call
    perform(queryset, cleaned_data) and return None so the admin shows the changelist."""
    form = None
    if request.POST.get("confirm") == "yes":
        form = form_class(request.POST) if form_class else None
        if form is None or form.is_valid():
            perform(queryset, form.cleaned_data if form else {})
            return None
    elif form_class:
        form = form_class()
    return render(request, "admin/confirm_action.html", {
        **modeladmin.admin_site.each_context(request), "title": title, "question": question, "objects": list(queryset),
        "action": action, "confirm_label": confirm_label, "form": form, "opts": modeladmin.model._meta,
    })
