"""A reseller buys accounts and renews them: all of a bulk purchase or none of it, once per
idempotency key, only while active, unfrozen and within their plans and daily limit, with
labels kept clean; renewals on the same account; the ledger always equals the balance."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from resellers import services
from resellers.models import Account, Batch
from tests.factories import PlanFactory
from tests.resellers.core_support import balance, buy, ledger_sum, make_reseller
from vpnbot.shop.models import Order, Subscription, WalletTransaction
from vpnbot.shop.services import InsufficientBalance, QuoteChanged, ShopError, order_refund

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0


@pytest.fixture
def plan():
    return PlanFactory(price_amount=100_000, duration_days=30)


@pytest.fixture
def reseller():
    return make_reseller(discount_bp=2000, balance_amount=10_000_000)


def test_a_bulk_purchase_of_20_is_all_or_nothing(reseller, plan, monkeypatch):
    from resellers.services import buying

    real, calls = buying.order_place_paid, []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 15:
            raise RuntimeError("the 15th account could not be made")
        return real(**kwargs)

    monkeypatch.setattr(buying, "order_place_paid", flaky)
    rows_before = WalletTransaction.objects.count()
    with pytest.raises(RuntimeError):
        buy(reseller, plan, 20, key="bulk-1")
    assert len(calls) == 15
    assert not Batch.objects.exists() and not Account.objects.exists()
    assert not Order.objects.exists() and not Subscription.objects.exists()
    assert WalletTransaction.objects.count() == rows_before
    assert balance(reseller.customer) == 10_000_000 == ledger_sum(reseller.customer)
    # the same key works once the fault is gone
    monkeypatch.setattr(buying, "order_place_paid", real)
    purchase = buy(reseller, plan, 20, key="bulk-1")
    assert purchase.created and len(purchase.accounts) == 20 and Order.objects.count() == 20
    assert balance(reseller.customer) == 10_000_000 - 20 * 80_000 == ledger_sum(reseller.customer)


def test_an_idempotency_key_used_again_is_the_same_purchase_charged_once(reseller, plan):
    first = buy(reseller, plan, 3, key="same", labels="Ali")
    again = buy(reseller, plan, 3, key="same", labels="Ali")
    assert first.created and not again.created
    assert again.batch.pk == first.batch.pk
    assert [a.pk for a in again.accounts] == [a.pk for a in first.accounts]
    assert Order.objects.count() == 3 and Batch.objects.count() == 1
    assert balance(reseller.customer) == 10_000_000 - 240_000 == ledger_sum(reseller.customer)


def test_another_resellers_key_is_refused(reseller, plan):
    buy(reseller, plan, 1, key="mine")
    other = make_reseller(balance_amount=1_000_000)
    with pytest.raises(services.ResellerError):
        buy(other, plan, 1, key="mine")
    assert balance(other.customer) == 1_000_000 and Batch.objects.count() == 1


@pytest.mark.parametrize("change", ["frozen", "demoted", "plan_not_theirs", "plan_off_sale"])
def test_refused_when_not_allowed(reseller, plan, change):
    if change == "frozen":
        services.reseller_update(reseller_id=reseller.pk, by="t", is_frozen=True)
    elif change == "demoted":
        services.reseller_demote(reseller_id=reseller.pk, by="t")
    elif change == "plan_not_theirs":
        services.reseller_update(reseller_id=reseller.pk, by="t", plan_ids=[PlanFactory().pk])
    else:
        plan.is_active = False
        plan.save()
    error = ShopError if change == "plan_off_sale" else services.ResellerError
    with pytest.raises(error):
        buy(reseller, plan, 1)
    assert not Batch.objects.exists() and balance(reseller.customer) == 10_000_000


def test_a_plan_among_theirs_is_sold(reseller, plan):
    services.reseller_update(reseller_id=reseller.pk, by="t", plan_ids=[plan.pk])
    assert buy(reseller, plan, 1).created


def test_the_daily_limit_counts_the_shops_day_across_tehran_midnight(reseller, plan):
    services.reseller_update(reseller_id=reseller.pk, by="t", daily_account_limit=3)
    # 23:50 in Tehran (UTC+3:30) is 20:20 UTC; 00:10 the next day is 20:40 UTC, the same UTC day
    with time_machine.travel(datetime(2026, 3, 1, 20, 20, tzinfo=UTC), tick=True):
        buy(reseller, plan, 2)
        with pytest.raises(services.ResellerError, match="1 more today"):
            buy(reseller, plan, 2)
        buy(reseller, plan, 1)
        with pytest.raises(services.ResellerError):
            buy(reseller, plan, 1)
    with time_machine.travel(datetime(2026, 3, 1, 20, 40, tzinfo=UTC), tick=True):
        assert len(buy(reseller, plan, 3).accounts) == 3  # a new day in Tehran
        with pytest.raises(services.ResellerError):
            buy(reseller, plan, 1)
    assert Account.objects.count() == 6


def test_labels_one_per_account_or_numbered(reseller, plan):
    listed = buy(reseller, plan, 3, labels=["Ali", "  Reza ", "Sara"])
    assert [a.label for a in listed.accounts] == ["Ali", "Reza", "Sara"]
    assert [a.subscription.label for a in listed.accounts] == ["Ali", "Reza", "Sara"]
    numbered = buy(reseller, plan, 3, labels="Shop")
    assert [a.label for a in numbered.accounts] == ["Shop 1", "Shop 2", "Shop 3"]
    assert [a.label for a in buy(reseller, plan, 2, labels=["Ali"]).accounts] == ["Ali 1", "Ali 2"]
    assert buy(reseller, plan, 1, labels="One").accounts[0].label == "One"
    cleaned = buy(reseller, plan, 1, labels="Ali\nReza\x00\t").accounts[0]
    assert cleaned.label == "Ali Reza"
    dated = buy(reseller, plan, 1).accounts[0]
    assert dated.label == timezone.localdate().strftime("%m%d")  # none given: the shop's date
    long_numbered = buy(reseller, plan, 10, labels="x" * 64).accounts
    assert all(len(a.label) <= 64 for a in long_numbered) and long_numbered[9].label.endswith(" 10")


@pytest.mark.parametrize("labels", ["   ", [""], ["Ali", "\x00"], "x" * 65, ["Ali", "Reza"]])
def test_bad_labels_are_refused_and_nothing_is_bought(reseller, plan, labels):
    with pytest.raises(services.ResellerError):
        buy(reseller, plan, 3 if labels == ["Ali", "Reza"] else 2, labels=labels)
    assert not Batch.objects.exists() and balance(reseller.customer) == 10_000_000


@pytest.mark.parametrize("quantity", [0, -1, 6, "abc", None, "2.5"])
def test_bad_quantities_are_refused(reseller, plan, settings, quantity):
    settings.RESELLER_MAX_BULK = 5
    with pytest.raises(services.ResellerError):
        buy(reseller, plan, quantity)
    assert not Batch.objects.exists()


def test_the_most_at_once_is_allowed(reseller, plan, settings):
    settings.RESELLER_MAX_BULK = 5
    assert len(buy(reseller, plan, "5").accounts) == 5


def test_a_running_account_is_renewed_from_its_end_on_the_same_chain(reseller, plan):
    account = buy(reseller, plan, 1, labels="Ali").accounts[0]
    first = account.first_subscription
    end = first.expires_at
    renewed, done = services.reseller_renew(reseller_id=reseller.pk, account_id=account.pk, idempotency_key="r1")
    assert done and renewed.pk == account.pk
    sub = renewed.subscription
    assert sub.renewed_from_id == first.pk and sub.resold and sub.label == "Ali"
    assert sub.starts_at == end and sub.expires_at == end + timedelta(days=30)
    assert Account.objects.get(pk=account.pk).subscription_id == sub.pk
    assert Account.objects.get(pk=account.pk).first_subscription_id == first.pk
    again, done_again = services.reseller_renew(reseller_id=reseller.pk, account_id=account.pk, idempotency_key="r1")
    assert not done_again and again.subscription_id == sub.pk
    assert Order.objects.filter(idempotency_key__startswith="rsr:").count() == 1
    assert balance(reseller.customer) == 10_000_000 - 160_000 == ledger_sum(reseller.customer)


def test_an_expired_account_is_renewed_from_now(reseller, plan):
    account = buy(reseller, plan, 1).accounts[0]
    later = timezone.now() + timedelta(days=45)
    with time_machine.travel(later, tick=False):
        renewed, done = services.reseller_renew(reseller_id=reseller.pk, account_id=account.pk, idempotency_key="r")
        now = timezone.now()
    sub = renewed.subscription
    assert done and sub.renewed_from_id == account.first_subscription_id
    assert sub.starts_at == now and sub.expires_at == now + timedelta(days=30)


def test_a_refunded_account_cannot_be_renewed_and_another_resellers_is_not_found(reseller, plan):
    account = buy(reseller, plan, 1).accounts[0]
    order_refund(order_id=account.first_subscription.order_id, reason="asked", by="t")
    with pytest.raises(services.ResellerError, match="refunded"):
        services.reseller_renew(reseller_id=reseller.pk, account_id=account.pk, idempotency_key="r")
    other = make_reseller(balance_amount=1_000_000)
    with pytest.raises(services.NotFound):
        services.reseller_renew(reseller_id=other.pk, account_id=account.pk, idempotency_key="r2")
    assert balance(reseller.customer) == 10_000_000 == ledger_sum(reseller.customer)


def test_frozen_reseller_cannot_renew(reseller, plan):
    account = buy(reseller, plan, 1).accounts[0]
    services.reseller_update(reseller_id=reseller.pk, by="t", is_frozen=True)
    with pytest.raises(services.ResellerError, match="frozen"):
        services.reseller_renew(reseller_id=reseller.pk, account_id=account.pk, idempotency_key="r")


def test_credit_up_to_the_limit_and_the_ledger_equals_the_balance_after_everything(plan):
    reseller = make_reseller(discount_bp=2000, balance_amount=100_000, credit=100_000)
    purchase = buy(reseller, plan, 2, key="a")
    assert balance(reseller.customer) == -60_000
    with pytest.raises(InsufficientBalance):
        buy(reseller, plan, 1, key="b")
    with pytest.raises(QuoteChanged):
        buy(reseller, plan, 1, key="c", expected_total=70_000)
    order_refund(order_id=purchase.accounts[1].first_subscription.order_id, reason="asked", by="t")
    assert balance(reseller.customer) == 20_000
    with pytest.raises(QuoteChanged):
        services.reseller_renew(reseller_id=reseller.pk, account_id=purchase.accounts[0].pk, idempotency_key="x",
                                expected_total=1)
    services.reseller_renew(reseller_id=reseller.pk, account_id=purchase.accounts[0].pk, idempotency_key="x",
                            expected_total=80_000)
    assert balance(reseller.customer) == -60_000 == ledger_sum(reseller.customer)
    with pytest.raises(InsufficientBalance):
        services.reseller_renew(reseller_id=reseller.pk, account_id=purchase.accounts[0].pk, idempotency_key="y")
    assert balance(reseller.customer) == -60_000 == ledger_sum(reseller.customer)
