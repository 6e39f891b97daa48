"""Templates: rendering from context in the customer's language, placeholders checked on save,
the shipped defaults (valid, installable, Persian for Persian customers), the fallback to the shop's text."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from notifications import services, types
from notifications.models import NotificationTemplate
from tests.factories import CustomerFactory, SubscriptionFactory
from vpnbot.shop import services as shop
from vpnbot.shop.models import Subscription

from .clock import T0, at

pytestmark = pytest.mark.django_db


def test_template_renders_from_context_in_the_customers_language(fake_telegram):
    NotificationTemplate.objects.create(type="service_expiring", language="en", body="Hey {first_name}: {plan}, {days_left} days")
    customer = CustomerFactory(language="en", first_name="Ali")
    sub = SubscriptionFactory(customer=customer, expires_at=T0 + timedelta(hours=30))
    with at(0):
        services.notification_scan_expiries()
        services.notification_process()
    assert fake_telegram.last_text(customer.telegram_id) == f"Hey Ali: {sub.plan.name}, 2 days"


def test_unknown_placeholders_are_refused_on_save():
    row = NotificationTemplate(type="payment_approved", language="fa", body="{amount} {secret}")
    with pytest.raises(ValidationError) as exc:
        row.full_clean()
    assert "{secret}" in str(exc.value)
    with pytest.raises(types.TemplateError):
        row.save()
    with pytest.raises(types.TemplateError):
        types.validate_template("payment_approved", "{amount.__class__}")
    with pytest.raises(types.TemplateError):
        types.validate_template("payment_approved", "{amount!r}")
    assert not NotificationTemplate.objects.exists()


def test_every_type_has_a_valid_default_and_defaults_install(fake_telegram):
    for type_ in types.ALL:
        types.validate_template(type_, str(types.DEFAULTS[type_]))
    assert services.template_install_defaults() == 2 * len(types.ALL)
    assert services.template_install_defaults() == 0
    preview = services.template_preview(type="payment_approved", body="{amount} / {balance}", language="en")
    assert preview == "200,000 Toman / 25,000 Toman"


def test_a_template_needing_context_the_shop_did_not_give_falls_back_to_the_shop_text(fake_telegram, django_capture_on_commit_callbacks):
    NotificationTemplate.objects.create(type="config_delivered", language="fa", body="{plan}: {config}")
    sub = SubscriptionFactory(config="", config_delivered_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        shop.subscription_deliver_config(subscription_id=sub.pk, config="vless://secret-config")
    assert "vless://secret-config" in fake_telegram.last_text(sub.customer.telegram_id)
    assert Subscription.objects.get(pk=sub.pk).config == "vless://secret-config"


def test_defaults_speak_persian_to_persian_customers(fake_telegram):
    customer = CustomerFactory(language="fa")
    SubscriptionFactory(customer=customer, starts_at=T0 - timedelta(days=20), expires_at=T0 - timedelta(hours=1))
    with at(0):
        services.notification_scan_expiries()
        services.notification_process()
    text = fake_telegram.last_text(customer.telegram_id)
    assert "منقضی شد" in text and "/buy" in text
