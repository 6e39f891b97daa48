"""resellers.services.menu: what the bot's menu reads and how it reads what people type."""

import pytest

from resellers import services
from resellers.services import ResellerError, menu
from tests.factories import CustomerFactory, PlanFactory
from vpnbot.core import bounds

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("text", "bp"), [("10", 1000), ("12.5", 1250), ("15%", 1500), ("۱۲٫۵", 1250), ("0", 0),
                                          ("100", 10_000)])
def test_percentages(text, bp):
    assert menu.parse_percent_bp(text) == bp


@pytest.mark.parametrize("text", ["", "ten", "-5", "100.01", "1000", "12.555", "1e2"])
def test_bad_percentages(text):
    with pytest.raises(ResellerError):
        menu.parse_percent_bp(text)


def test_amounts_and_quantities(settings):
    assert menu.parse_amount("2,000,000") == 2_000_000 and menu.parse_amount("۵۰۰") == 500
    for bad in ("-1", "x", str(bounds.MAX_AMOUNT + 1)):
        with pytest.raises(ResellerError):
            menu.parse_amount(bad)
    settings.RESELLER_MAX_BULK = 20
    assert menu.parse_quantity("20") == 20 and menu.quantities_offered() == [1, 5, 10, 20]
    for bad in ("0", "21", "", "2.0"):
        with pytest.raises(ResellerError):
            menu.parse_quantity(bad)


def test_labels():
    assert menu.parse_labels("Ali", 3) == ["Ali 1", "Ali 2", "Ali 3"]
    assert menu.parse_labels(" a \n\n b \n c ", 3) == ["a", "b", "c"]
    for bad in ("", "a\nb", "x" * 65):
        with pytest.raises(ResellerError):
            menu.parse_labels(bad, 3)


def test_customer_lookup():
    customer = CustomerFactory(username="Neda")
    assert menu.customer_lookup("@neda") == customer
    assert menu.customer_lookup(str(customer.telegram_id)) == customer
    for bad in ("neda", "@", "@nobody", "123"):
        with pytest.raises(ResellerError):
            menu.customer_lookup(bad)


def test_overview_and_plans_for_sale():
    gold, silver = PlanFactory(price_amount=200_000), PlanFactory(price_amount=100_000)
    PlanFactory(is_active=False)
    customer = CustomerFactory.with_balance(300_000)
    reseller = services.reseller_promote(customer_id=customer.pk, by="t", discount_bp=1000, credit_limit_amount=100_000)
    assert menu.plans_for_sale(reseller=reseller) == [(silver, 90_000), (gold, 180_000)]
    services.reseller_buy(reseller_id=reseller.pk, plan_id=gold.pk, quantity=2, idempotency_key="o-1")
    overview = menu.reseller_overview(reseller=reseller)
    assert (overview.balance_amount, overview.credit_limit_amount, overview.credit_used_amount,
            overview.available_amount, overview.accounts_running) == (-60_000, 100_000, 60_000, 40_000, 2)
    services.reseller_update(reseller_id=reseller.pk, by="t", plan_ids=[silver.pk])
    reseller.refresh_from_db()
    assert menu.plans_for_sale(reseller=reseller) == [(silver, 90_000)]
    with pytest.raises(ResellerError):
        menu.plan_for_sale(reseller=reseller, plan_id=gold.pk)
    rows, total = menu.resellers_overview()
    assert total == 1 and rows == [(reseller, 2)]


def test_purchase_find_is_the_resellers_own():
    plan = PlanFactory(price_amount=10_000)
    a = services.reseller_promote(customer_id=CustomerFactory.with_balance(100_000).pk, by="t")
    b = services.reseller_promote(customer_id=CustomerFactory().pk, by="t")
    services.reseller_buy(reseller_id=a.pk, plan_id=plan.pk, quantity=1, idempotency_key="k-a")
    assert menu.purchase_find(reseller_id=a.pk, idempotency_key="k-a").batch.quantity == 1
    assert menu.purchase_find(reseller_id=b.pk, idempotency_key="k-a") is None


def test_remove_tells_the_customer_once(django_capture_on_commit_callbacks, fake_telegram, direct_messages):
    customer = CustomerFactory(language="en")
    reseller = services.reseller_promote(customer_id=customer.pk, by="t")
    with django_capture_on_commit_callbacks(execute=True):
        menu.reseller_remove(reseller_id=reseller.pk, by="t")
        menu.reseller_remove(reseller_id=reseller.pk, by="t")
    assert len([t for t in fake_telegram.sent_texts(customer.telegram_id) if "no longer a reseller" in t]) == 1
