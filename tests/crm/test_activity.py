from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import UserActivity
from tests.crm.factories import CustomerFactory, PlanFactory, SubscriptionFactory
from vpnbot.shop import selectors as shop_selectors
from vpnbot.shop import services as shop

pytestmark = pytest.mark.django_db


def kinds(customer):
    return list(UserActivity.objects.filter(customer=customer).order_by("id").values_list("kind", flat=True))


def crm_inserts(queries) -> int:
    return sum(1 for q in queries if q["sql"].lstrip().upper().startswith("INSERT") and "crm_" in q["sql"])


def test_shop_events_become_activities_with_one_insert_each(settings):
    settings.ENABLE_CRM = True
    customer, created = shop.customer_sync(telegram_id=424242, username="ali", first_name="Ali")
    assert created and kinds(customer) == ["registered"]
    shop.wallet_apply(customer_id=customer.pk, amount=1_000_000, reason="adjustment", source="seed:424242")
    plan = PlanFactory(price_amount=100_000)
    with CaptureQueriesContext(connection) as ctx:
        order = shop.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="k1").order
    assert crm_inserts(ctx.captured_queries) == 1
    shop.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="k2")
    assert kinds(customer) == ["registered", "order", "renewal"]
    activity = UserActivity.objects.get(customer=customer, kind="order")
    assert activity.ref == f"order:{order.pk}" and activity.amount == 100_000
    with CaptureQueriesContext(connection) as ctx:
        shop.order_refund(order_id=order.pk, reason="test", by="admin")
    assert crm_inserts(ctx.captured_queries) == 1
    assert kinds(customer)[-1] == "refund"


def test_blocked_bot_and_expiry_are_recorded(settings):
    settings.ENABLE_CRM = True
    customer = CustomerFactory()
    SubscriptionFactory(customer=customer, expires_at=timezone.now() - timedelta(minutes=1))
    assert shop.subscription_expire_due() == 1
    shop.on_chat_blocked(chat_id=customer.telegram_id, description="blocked")
    assert kinds(customer) == ["expiry", "bot_blocked"]


def test_nothing_is_tracked_when_the_crm_is_off(settings):
    settings.ENABLE_CRM = False
    customer, _ = shop.customer_sync(telegram_id=434343, username="off")
    shop.wallet_apply(customer_id=customer.pk, amount=500_000, reason="adjustment", source="seed:434343")
    shop.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1, idempotency_key="off1")
    assert not UserActivity.objects.exists()


def test_commands_are_tracked_through_the_webhook(bot, tg_user, fake_telegram, settings):
    settings.ENABLE_CRM = True
    bot.send(tg_user, "/plans")
    bot.send(tg_user, "/help")
    customer = shop_selectors.customer_find(str(tg_user.id))
    assert kinds(customer) == ["registered", "plans_viewed", "command"]
    assert list(UserActivity.objects.filter(customer=customer).order_by("id").values_list("ref", flat=True))[1:] == [
        "/plans", "/help"]
    settings.ENABLE_CRM = False
    bot.send(tg_user, "/help")
    assert len(kinds(customer)) == 3
