"""Every page of the admin in Persian: each registered ModelAdmin's changelist, add page and
change page render for a superuser whose browser asks for Persian, no action description is left
in English, nor a column or read-only field title of this project's apps."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field, model_format_dict
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from backups.models import Backup
from crm.models import Campaign
from crm.services import activity_record, profiles_recompute
from notifications import services as notifications
from panels import services as panels
from panels.models import PanelAccount
from tests.discounts.factories import CashbackRuleFactory, SmartDiscountFactory
from tests.factories import CustomerFactory, PaymentFactory, PlanFactory
from vpnbot.shop import services as shop
from vpnbot.transport.models import ChatState, TelegramUpdate

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"shop", "telegram", "discounts", "crm", "backups", "notifications", "panels"}
# Texts that are the same in both languages on purpose: "ID" is Django's own title of the automatic
# primary key (not a msgid; Persian software reads it as it is). Third-party column titles that a
# ModelAdmin derives from a method's name (axes' "Status") are no msgids either: only the
# project's apps are held to their columns.
DELIBERATELY_IDENTICAL = {"ID"}


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("walker", "walker@example.com", "pw")


@pytest.fixture
def a_row_everywhere(settings, tmp_path):
    """At least one row in the project's tables, so that change pages and columns render."""
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.ENABLE_CRM = True
    customer = CustomerFactory.with_balance(500_000, username="walker_customer")
    plan = PlanFactory(price_amount=100_000)
    order = shop.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="walk").order
    panel = panels.panel_create(name="walk", kind="manual")
    PanelAccount.objects.create(subscription=order.subscription, panel=panel, name="walk", status="failed",
                                last_error="walked", drift={"missing": True}, drift_at=timezone.now())
    PaymentFactory(customer=customer)
    SmartDiscountFactory()
    CashbackRuleFactory()
    activity_record(customer=customer, kind="command", ref="/plans")
    profiles_recompute()
    Campaign.objects.create(name="Walk", text="Hello {first_name}", segments=["at_risk"])
    notifications.notification_enqueue(customer=customer, type="campaign", dedup_key="walk", text="A")
    notifications.broadcast_create(created_by=None, text="To everyone")
    notifications.scheduled_create(text="Every week", starts_at=timezone.now() + timedelta(days=1), repeat="weekly")
    Backup.objects.create(kind=Backup.Kind.MANUAL, status=Backup.Status.FAILED, vendor="sqlite")
    TelegramUpdate.objects.create(update_id=1, kind="message", payload={}, status="failed")
    ChatState.objects.create(user_id=customer.telegram_id, name="walk", expires_at=timezone.now() + timedelta(hours=1))


def _texts(language, fn):
    with translation.override(language):
        return fn()


def _action_descriptions(model_admin, request) -> dict[str, str]:
    return {name: str(description) % model_format_dict(model_admin.opts)
            for name, (_func, _name, description) in model_admin.get_actions(request).items()}


def _column_titles(model, model_admin, request) -> dict[str, str]:
    """The changelist's columns and the change page's read-only fields."""
    names = [*model_admin.get_list_display(request), *model_admin.get_readonly_fields(request)]
    return {name: str(label_for_field(name, model, model_admin)) for name in names
            if isinstance(name, str) and name != "__str__"}


def test_every_admin_page_renders_in_persian_without_english_actions(client, superuser, a_row_everywhere):
    client.force_login(superuser)
    request = RequestFactory().get("/admin/")
    request.user = superuser
    untranslated = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        where = f"{opts.app_label}.{opts.model_name}"
        changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), HTTP_ACCEPT_LANGUAGE="fa")
        assert changelist.status_code == 200, where
        assert changelist.content.decode().startswith("<!DOCTYPE html>\n\n<html lang=\"fa\" dir=\"rtl\">"), where
        english = _texts("en", lambda: _action_descriptions(model_admin, request))  # noqa: B023
        persian = _texts("fa", lambda: _action_descriptions(model_admin, request))  # noqa: B023
        for name, text in english.items():
            if text not in DELIBERATELY_IDENTICAL and (persian[name] == text
                                                       or escape(text) in changelist.content.decode()):
                untranslated.append(f"{where} action {name}: {text!r}")
        if opts.app_label in PROJECT_APPS:
            english = _texts("en", lambda: _column_titles(model, model_admin, request))  # noqa: B023
            persian = _texts("fa", lambda: _column_titles(model, model_admin, request))  # noqa: B023
            untranslated += [f"{where} column {name}: {text!r}" for name, text in english.items()
                             if persian[name] == text and text not in DELIBERATELY_IDENTICAL]
        if model_admin.has_add_permission(request):
            add = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"), HTTP_ACCEPT_LANGUAGE="fa")
            assert add.status_code == 200, f"{where} add"
        row = model_admin.get_queryset(request).first()
        if row is not None:
            change = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]),
                                HTTP_ACCEPT_LANGUAGE="fa")
            assert change.status_code == 200, f"{where} change"
    assert not untranslated, "\n".join(untranslated)


def test_the_walk_sees_the_project_admins(superuser):
    """The walk above covers every app of the project (an app whose admin stopped registering
    would silently drop out of it)."""
    assert PROJECT_APPS <= {model._meta.app_label for model in admin.site._registry}
