"""The reconciliation: a shop run by its own services reconciles; each inconsistency planted in
it (by hand, as a bug or an operator with database access would) is found by the check meant
for it, with its row listed; a period's reconciliation looks at the period's rows only, but
compares the totals of the whole ledger and of all balances whatever the period."""

import importlib

import pytest
import time_machine
from django.db.models import F
from django.utils import timezone

from discounts.models import CashbackTransaction
from payments import services as payments
from payments.models import Payment as OnlinePayment
from reports.services import period_parse, reconcile
from tests.factories import CustomerFactory, OrderFactory, PaymentFactory, PlanFactory
from tests.reports.story import NOW, build, story_settings, tehran
from vpnbot.shop import services as shop
from vpnbot.shop.models import Customer, Order, Payment, ReferralReward, WalletTransaction

AZAR = "1405-09"
DURING = tehran(1405, 9, 10, 12, 0)  # the small shop below is made on this day


class Shop:
    """One customer's month: a card top-up of 300,000, a Monthly bought (5,000 cashback), a
    second one bought and refunded in full (its cashback taken back), 50,000 by Stars."""

    def __init__(self, settings):
        story_settings(settings)
        with time_machine.travel(DURING, tick=False):
            self.plan = PlanFactory(name="Monthly", price_amount=100_000)
            self.customer = CustomerFactory(language="en", balance_amount=0)
            self.receipt = shop.payment_submit(customer=self.customer, amount=300_000, receipt_file_id="photo-1")
            shop.payment_approve(payment_id=self.receipt.pk, reviewer="owner")
            self.order = self.buy("kept")
            self.refunded = self.buy("refunded")
            shop.order_refund(order_id=self.refunded.pk, mode="full", reason="test", by="owner")
            self.stars = OnlinePayment.objects.create(
                provider=OnlinePayment.Provider.STARS, customer=self.customer, amount=50_000, currency="XTR",
                provider_amount=50_000, provider_payment_id="charge-1", status=OnlinePayment.Status.HELD)
            payments.payment_credit_held(payment_id=self.stars.pk, by="owner", reason="seen")

    def buy(self, key):
        return shop.order_checkout(customer_id=self.customer.pk, plan_id=self.plan.pk, quantity=1,
                                   idempotency_key=key).order

    def row(self, source):
        return WalletTransaction.objects.get(source=source)


@pytest.fixture
def small(db, settings):
    made = Shop(settings)
    with time_machine.travel(NOW, tick=False):
        yield made


def problems(result) -> dict:
    return {p.check: p for p in result.problems}


def only(result, check):
    """The one problem found, and that it is the `check` one."""
    found = problems(result)
    assert list(found) == [check], [p.as_dict() for p in result.problems]
    assert result.ok is False
    return found[check]


def plant_row(customer, amount, reason, source, when=None):
    """A ledger row written with its balance (as wallet_apply would, but for nothing)."""
    with time_machine.travel(when or DURING, tick=False):
        return shop.wallet_apply(customer_id=customer.pk, amount=amount, reason=reason, source=source)


def test_the_story_reconciles_on_the_whole_and_for_each_month(db, settings):
    build(settings)
    with time_machine.travel(NOW, tick=False):
        whole = reconcile()
        months = [reconcile(period_parse(text)) for text in ("1405-08", "1405-09", "1405-10")]
    assert whole.ok and whole.problems == [] and whole.scope == "all"
    assert whole.ledger_total_amount == whole.balance_total_amount == 348_120  # test_figures' wallets, now
    assert [(m.ok, m.problems, m.ledger_total_amount) for m in months] == [(True, [], 348_120)] * 3
    assert months[1].scope == "2026-11-22..2026-12-21"
    assert whole.as_dict()["problems"] == [] and whole.as_dict()["ok"] is True


def test_the_small_shop_reconciles(small):
    assert small.customer.pk and reconcile().ok
    assert reconcile(period_parse(AZAR)).ok
    # 300,000 - 100,000 + 5,000 - 100,000 + 5,000 + 100,000 - 5,000 + 50,000
    assert reconcile().ledger_total_amount == 255_000


def test_a_purchase_row_without_an_order(small):
    row = plant_row(small.customer, -10_000, WalletTransaction.Reason.PURCHASE, "order:999999")
    problem = only(reconcile(), "purchase_orphan")
    assert problem.count == 1
    assert problem.rows == [{"pk": row.pk, "customer_id": small.customer.pk, "amount": -10_000,
                             "source": "order:999999", "created_at": row.created_at.isoformat()}]
    # a purchase row of another amount than its order paid is no purchase of that order either
    other = plant_row(small.customer, -1, WalletTransaction.Reason.PURCHASE, "purchase-by-hand")
    assert [r["pk"] for r in only(reconcile(), "purchase_orphan").rows] == [row.pk, other.pk]


def test_a_double_credit_of_a_receipt_under_another_source(small):
    row = plant_row(small.customer, 300_000, WalletTransaction.Reason.TOPUP, f"payment:{small.receipt.pk}:again")
    problem = only(reconcile(), "receipt_orphan")
    assert [(r["pk"], r["source"], r["amount"]) for r in problem.rows] == [(row.pk, row.source, 300_000)]


def test_a_credit_of_an_unknown_source(small):
    row = plant_row(small.customer, 40_000, WalletTransaction.Reason.TOPUP, "manual:1")
    assert [r["pk"] for r in only(reconcile(), "topup_unknown").rows] == [row.pk]


def test_a_credit_of_a_receipt_that_was_rejected(small):
    rejected = PaymentFactory(customer=small.customer, amount=20_000, status=Payment.Status.REJECTED)
    row = plant_row(small.customer, 20_000, WalletTransaction.Reason.TOPUP, f"payment:{rejected.pk}")
    assert [r["pk"] for r in only(reconcile(), "receipt_orphan").rows] == [row.pk]


def test_a_balance_edited_by_hand(small):
    Customer.objects.filter(pk=small.customer.pk).update(balance_amount=F("balance_amount") + 7_000)
    result = reconcile()
    found = problems(result)
    assert sorted(found) == ["balance", "totals"] and not result.ok
    assert found["totals"].rows == [{"ledger_total_amount": 255_000, "balance_total_amount": 262_000}]
    assert found["balance"].rows == [{"pk": small.customer.pk, "telegram_id": small.customer.telegram_id,
                                      "balance_amount": 262_000, "ledger_sum": 255_000}]


def test_a_balance_edited_by_hand_with_no_ledger_at_all(small):
    other = CustomerFactory(balance_amount=0)
    Customer.objects.filter(pk=other.pk).update(balance_amount=1_000)
    found = problems(reconcile())
    assert found["balance"].rows == [{"pk": other.pk, "telegram_id": other.telegram_id, "balance_amount": 1_000,
                                      "ledger_sum": 0}]


def test_a_paid_order_without_its_debit(small):
    with time_machine.travel(DURING, tick=False):
        order = OrderFactory(customer=small.customer, plan=small.plan)  # marked paid, nothing debited
    problem = only(reconcile(), "order_debit")
    assert problem.rows == [{"pk": order.pk, "customer_id": small.customer.pk, "paid_amount": 100_000,
                             "paid_at": order.paid_at.isoformat()}]


def test_a_debit_of_another_amount_than_the_order_paid(small):
    Order.objects.filter(pk=small.order.pk).update(paid_amount=90_000)
    found = problems(reconcile())
    assert sorted(found) == ["order_debit", "purchase_orphan"]  # seen from both sides
    assert [r["pk"] for r in found["order_debit"].rows] == [small.order.pk]
    assert [r["source"] for r in found["purchase_orphan"].rows] == [f"order:{small.order.pk}"]


def test_an_approved_receipt_without_its_credit(small):
    with time_machine.travel(DURING, tick=False):
        receipt = PaymentFactory(customer=small.customer, amount=70_000, status=Payment.Status.APPROVED,
                                 reviewed_at=timezone.now())
    problem = only(reconcile(), "receipt_credit")
    assert [(r["pk"], r["amount"]) for r in problem.rows] == [(receipt.pk, 70_000)]


def test_a_refunded_order_whose_refund_row_differs(small):
    Order.objects.filter(pk=small.refunded.pk).update(refunded_amount=60_000)
    found = problems(reconcile())
    assert sorted(found) == ["refund", "refund_orphan"]  # the order and its row disagree
    assert found["refund"].rows[0]["pk"] == small.refunded.pk and found["refund"].rows[0]["refunded_amount"] == 60_000
    assert found["refund_orphan"].rows[0]["source"] == f"refund:{small.refunded.pk}"


def test_a_refund_row_without_a_refunded_order(small):
    row = plant_row(small.customer, 100_000, WalletTransaction.Reason.REFUND, f"refund:{small.order.pk}")
    assert [r["pk"] for r in only(reconcile(), "refund_orphan").rows] == [row.pk]


def test_a_credited_cashback_without_its_row(small, settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0
    with time_machine.travel(DURING, tick=False):
        order = small.buy("no-cashback")
        tx = CashbackTransaction.objects.create(customer=small.customer, order=order, amount=3_000,
                                                status=CashbackTransaction.Status.CREDITED, due_at=timezone.now(),
                                                credited_at=timezone.now())
    problem = only(reconcile(), "cashback_credit")
    assert [(r["pk"], r["order_id"], r["amount"]) for r in problem.rows] == [(tx.pk, order.pk, 3_000)]


def test_a_cashback_row_without_a_credited_cashback(small):
    row = plant_row(small.customer, 2_500, WalletTransaction.Reason.CASHBACK, "cashback:999999")
    assert [r["pk"] for r in only(reconcile(), "cashback_orphan").rows] == [row.pk]


def test_a_referral_reward_without_its_row_and_a_referral_row_without_a_reward(small):
    friend = CustomerFactory(referred_by=small.customer)
    order = OrderFactory(customer=friend, plan=small.plan, status=Order.Status.PENDING)  # (not paid: no debit due)
    with time_machine.travel(DURING, tick=False):
        reward = ReferralReward.objects.create(referrer=small.customer, referred=friend, order=order, amount=7_000)
    problem = only(reconcile(), "referral_credit")
    assert [(r["pk"], r["referrer_id"], r["referred_id"], r["amount"]) for r in problem.rows] == [
        (reward.pk, small.customer.pk, friend.pk, 7_000)]
    plant_row(small.customer, 7_000, WalletTransaction.Reason.REFERRAL, f"referral:{friend.pk}")
    assert reconcile().ok  # the reward and its row match now
    plant_row(small.customer, 7_000, WalletTransaction.Reason.REFERRAL, "referral:999999")  # nobody invited
    plant_row(friend, 7_000, WalletTransaction.Reason.REFERRAL, f"referral:{friend.pk}-again")  # not a reward's shape
    assert {r["source"] for r in only(reconcile(), "referral_orphan").rows} == {
        "referral:999999", f"referral:{friend.pk}-again"}


def test_an_online_credit_whose_payment_is_not_paid(small):
    OnlinePayment.objects.filter(pk=small.stars.pk).update(status=OnlinePayment.Status.FAILED)
    problem = only(reconcile(), "online_orphan")
    assert problem.count == 1
    assert [r["source"] for r in problem.rows] == [f"pay:stars:{small.stars.pk}"]


def test_an_online_credit_of_another_amount_or_no_payment(small):
    row = plant_row(small.customer, 10_000, WalletTransaction.Reason.TOPUP, "pay:zarinpal:999999")
    OnlinePayment.objects.filter(pk=small.stars.pk).update(amount=40_000)
    found = problems(reconcile())
    assert sorted(found) == ["online_credit", "online_orphan"]
    assert sorted(r["source"] for r in found["online_orphan"].rows) == sorted([row.source, f"pay:stars:{small.stars.pk}"])
    assert found["online_orphan"].count == 2
    assert [r["pk"] for r in found["online_credit"].rows] == [small.stars.pk]


def test_a_paid_online_payment_without_its_credit(small):
    with time_machine.travel(DURING, tick=False):
        paid = OnlinePayment.objects.create(provider=OnlinePayment.Provider.STARS, customer=small.customer,
                                            amount=30_000, currency="XTR", provider_amount=30_000,
                                            provider_payment_id="charge-2", status=OnlinePayment.Status.PAID,
                                            paid_at=timezone.now())
    assert [r["pk"] for r in only(reconcile(), "online_credit").rows] == [paid.pk]


def test_a_period_lists_only_its_own_rows_but_the_totals_are_always_the_whole(small):
    aban = tehran(1405, 8, 15, 12, 0)
    plant_row(small.customer, -10_000, WalletTransaction.Reason.PURCHASE, "order:999999", when=aban)
    with time_machine.travel(aban, tick=False):
        other = CustomerFactory(balance_amount=0)
    Customer.objects.filter(pk=other.pk).update(balance_amount=1_000)  # no ledger row in Azar
    azar = reconcile(period_parse(AZAR))
    assert list(problems(azar)) == ["totals"]  # 245,000 in the ledger, 246,000 in the balances
    assert azar.ledger_total_amount == 245_000 and azar.balance_total_amount == 246_000
    aban_result = reconcile(period_parse("1405-08"))
    assert sorted(problems(aban_result)) == ["purchase_orphan", "totals"]  # `other` has no ledger row in Aban
    assert sorted(problems(reconcile())) == ["balance", "purchase_orphan", "totals"]


def test_a_period_checks_the_balance_of_every_customer_whose_wallet_moved_in_it(small):
    Customer.objects.filter(pk=small.customer.pk).update(balance_amount=F("balance_amount") - 5_000)
    assert sorted(problems(reconcile(period_parse(AZAR)))) == ["balance", "totals"]
    assert sorted(problems(reconcile(period_parse("1405-08")))) == ["totals"]


def test_the_rows_listed_are_capped_but_the_count_is_not(small, monkeypatch):
    module = importlib.import_module("reports.services.reconcile")  # the package re-exports a function of that name

    monkeypatch.setattr(module, "LIMIT", 2)
    for n in range(3):
        plant_row(small.customer, 1_000, WalletTransaction.Reason.TOPUP, f"pay:stars:{900_000 + n}")
    problem = only(reconcile(), "online_orphan")
    assert problem.count == 3 and len(problem.rows) == 2
