"""Admin helpers: read-only admins, actions behind an intermediate confirmation page, and
messages whose interpolated values keep their own direction in a right-to-left language."""

from django import forms
from django.contrib import admin
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import pgettext

# Unicode FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE: the text between them takes its own
# direction (from its first strong letter, left to right when it has none) and does not reorder
# the sentence around it.
FSI, PDI = "\u2068", "\u2069"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records kept for the record (ledgers, logs, usages): visible, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def isolate(value):
    """A value as it goes into a sentence of the active language. In a right-to-left language
    (Persian) text and signed numbers are wrapped in Unicode isolates, so a Latin name, an error
    text or an amount ("#12 Spring sale: 40", "100,000 USD") cannot pull the digits next to it
    into its own direction; a plain non-negative integer is left as it is (digits alone never
    reorder a sentence, and %(n)d still works)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = str(value)
    return f"{FSI}{text}{PDI}" if text and translation.get_language_bidi() else text


def interpolate(text: str, /, **values) -> str:
    """`text % values` with every value isolated (see isolate): for the messages the admin
    builds per request from a gettext()/ngettext() msgid with %(name)s placeholders."""
    return text % {name: isolate(value) for name, value in values.items()}


def text_list(items) -> str:
    """Items joined with the active language's list separator (", " in English, "، " in Persian)."""
    return pgettext("list separator", ", ").join(str(item) for item in items)


def confirm_action(modeladmin, request, queryset, *, action: str, title: str, question: str,
                   confirm_label: str, form_class: type[forms.Form] | None = None, perform):
    """Show a confirmation page (with an optional form); on confirmation call
    perform(queryset, cleaned_data) and return None so the admin shows the changelist.
    title, question and confirm_label are already translated (gettext or gettext_lazy)."""
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
