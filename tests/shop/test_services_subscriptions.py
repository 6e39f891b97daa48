"""Subscriptions (services.subscriptions): expiry, config checks, provisioning."""

from datetime import timedelta

import pytest

from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop import services
from vpnbot.shop.models import DomainEvent


@pytest.mark.django_db
def test_expiry_marks_each_subscription_once():
    customer = CustomerFactory.with_balance(300_000)
    order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1, idempotency_key="e").order
    later = order.subscription.expires_at + timedelta(seconds=1)
    assert services.subscription_expire_due(now=later) == 1
    assert services.subscription_expire_due(now=later) == 0
    assert DomainEvent.objects.filter(name="subscription_expired").count() == 1


def test_a_config_that_cannot_travel_in_one_message_is_refused(db):
    customer = CustomerFactory.with_balance(200_000, language="en")
    sub = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1,
                                  idempotency_key="svc-long").order.subscription
    with pytest.raises(services.ShopError, match="3,500"):
        services.subscription_deliver_config(subscription_id=sub.pk, config="<" * 1000)
    assert services.subscription_validate_config("  vless://ok \n") == "vless://ok"


def test_a_provisioner_config_too_long_goes_to_the_operators(db, settings, fake_telegram, django_capture_on_commit_callbacks):
    settings.VPN_PROVISIONER = "tests.shop.test_services_subscriptions.LongProvisioner"
    settings.LANGUAGE_CODE = "en"  # the admins' language (they have no customer record)
    customer = CustomerFactory.with_balance(200_000, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1,
                                        idempotency_key="prov-long").order
    order.subscription.refresh_from_db()
    assert order.subscription.config == ""
    assert any("needs a VPN config" in t for t in fake_telegram.sent_texts(9001))


class LongProvisioner:
    def provision(self, subscription):
        return "vless://" + "a" * 5000

    def extend(self, subscription):
        return None
