"""The shop's risk seam (vpnbot.shop.risk) with a stand-in check: what the shop does with each
verdict, whoever registered it. The anti-fraud app's own rules are tested in tests/antifraud."""

import pytest
from django.utils import translation

from tests.conftest import TelegramUser
from tests.factories import CustomerFactory, OrderFactory, PaymentFactory, PlanFactory, SubscriptionFactory
from vpnbot.shop import risk, services
from vpnbot.shop.models import Customer, Order, Payment, ReferralReward, Trial
from vpnbot.transport import permissions

pytestmark = pytest.mark.django_db


class Stand:
    """A risk check answering what the test says, recording what it was asked."""

    def __init__(self):
        self.verdicts: dict[str, risk.Verdict] = {}
        self.asked: list[dict] = []

    def __call__(self, *, subject, customer, stage, **facts):
        self.asked.append({"subject": subject, "stage": stage, "customer": customer, **facts})
        return self.verdicts.get(subject)


@pytest.fixture
def stand(monkeypatch):
    check = Stand()
    monkeypatch.setattr(risk, "_checks", [check])
    with translation.override("en"):
        yield check


HOLD = risk.Verdict(action=risk.HOLD, score=80, reasons=("same photo as payment #1 by another customer",))


def test_no_check_says_allow(monkeypatch):
    monkeypatch.setattr(risk, "_checks", [])
    verdict = risk.risk_assess(subject="trial", customer=None)
    assert verdict == risk.Verdict() and not verdict.held


def test_verdicts_merge_and_a_broken_check_is_ignored(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(risk, "_checks", [
        broken, lambda **kw: risk.Verdict(risk.FLAG, 40, ("a",)), lambda **kw: risk.Verdict(risk.HOLD, 30, ("b", "a"))])
    verdict = risk.risk_assess(subject="payment", customer=None)
    assert (verdict.action, verdict.score, verdict.reasons) == (risk.HOLD, 40, ("a", "b"))


def test_a_check_failing_on_the_database_leaves_the_callers_transaction_usable(monkeypatch):
    """PostgreSQL refuses every statement after a failed one until the transaction (or a
    savepoint) is rolled back: the seam runs each check in a savepoint, so the caller goes on."""
    from django.db import connection, transaction

    customer = CustomerFactory()

    def broken(**kwargs):
        Customer.objects.filter(pk=customer.pk).update(first_name="written by a broken check")
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_at_all")

    monkeypatch.setattr(risk, "_checks", [broken, lambda **kw: risk.Verdict(risk.FLAG, 40, ("a",))])
    with transaction.atomic():
        verdict = risk.risk_assess(subject="payment", customer=customer)
        assert (verdict.action, verdict.score) == (risk.FLAG, 40)
        assert Customer.objects.filter(pk=customer.pk).exists()  # the transaction still answers
    customer.refresh_from_db()
    assert customer.first_name != "written by a broken check"  # the broken check's write was taken back


def test_a_receipt_keeps_its_verdict_and_the_reviewers_read_it(stand, fake_telegram, direct_messages,
                                                                django_capture_on_commit_callbacks, settings):
    settings.LANGUAGE_CODE = "en"  # the admins' review message is in the shop's language
    stand.verdicts["payment"] = HOLD
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        payment = services.payment_submit(customer=customer, amount=200_000, receipt_file_id="AgAC-x",
                                          receipt_unique_id="AQAD-same")
    payment.refresh_from_db()
    assert (payment.risk_score, payment.risk_action, payment.receipt_unique_id) == (80, "hold", "AQAD-same")
    assert payment.risk_reasons == ["same photo as payment #1 by another customer"]
    assert stand.asked[0]["stage"] == "submit" and stand.asked[0]["payment"].pk == payment.pk
    caption = fake_telegram.calls_to("sendPhoto", chat_id=9001)[0].text
    assert "Risk 80/100" in caption and "same photo as payment #1 by another customer" in caption


def test_a_held_receipt_needs_a_second_confirmation(stand):
    payment = PaymentFactory()
    stand.verdicts["payment"] = HOLD
    with pytest.raises(services.RiskHeld) as raised:
        services.payment_approve(payment_id=payment.pk, reviewer="@boss")
    assert raised.value.verdict.score == 80
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert Customer.objects.get(pk=payment.customer_id).balance_amount == 0
    decision = services.payment_approve(payment_id=payment.pk, reviewer="@boss", confirm=True)
    assert decision.changed and decision.payment.risk_confirmed_by == "@boss"
    assert stand.asked[-1]["confirmed_by"] == "@boss"
    assert Customer.objects.get(pk=payment.customer_id).balance_amount == 200_000


def test_a_frozen_receipt_is_not_approved_even_on_confirmation(stand):
    payment = PaymentFactory()
    stand.verdicts["payment"] = risk.Verdict(action=risk.FREEZE, score=100, reasons=("banned",))
    with pytest.raises(services.RiskHeld):
        services.payment_approve(payment_id=payment.pk, reviewer="@boss", confirm=True)
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert Customer.objects.get(pk=payment.customer_id).balance_amount == 0


def test_an_allowed_receipt_is_approved_as_before(stand):
    payment = PaymentFactory()
    assert services.payment_approve(payment_id=payment.pk, reviewer="@boss").changed
    assert stand.asked[0]["confirmed_by"] == ""


def test_the_review_button_asks_for_the_second_confirmation(stand, bot, fake_telegram, tg_admin):
    payment = PaymentFactory()
    stand.verdicts["payment"] = HOLD
    bot.press(tg_admin, f"pay:ok:{payment.pk}")
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert "held by the risk checks" in fake_telegram.last_text(tg_admin.id)
    assert "another customer" in fake_telegram.last_text(tg_admin.id)
    bot.press_button(tg_admin, "Yes, approve it")
    payment.refresh_from_db()
    assert payment.status == "approved" and payment.risk_confirmed_by == "@boss"


def test_a_later_verdict_updates_the_receipt_and_its_review_messages(stand, fake_telegram,
                                                                      django_capture_on_commit_callbacks):
    payment = PaymentFactory(admin_messages=[[9001, 55]])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.payment_risk_update(payment_id=payment.pk,
                                            verdict=risk.Verdict(risk.FLAG, 50, ("near-duplicate",)))
    payment.refresh_from_db()
    assert (payment.risk_score, payment.risk_action, payment.risk_reasons) == (50, "flag", ["near-duplicate"])
    edit = fake_telegram.calls_to("editMessageCaption")[-1]
    assert "near-duplicate" in edit.text and edit.params["reply_markup"]["inline_keyboard"]
    assert not services.payment_risk_update(payment_id=payment.pk, verdict=risk.Verdict(risk.ALLOW, 10, ()))


def _referred_pair(settings):
    settings.REFERRAL_REWARD_PERCENT = 10
    referrer = CustomerFactory()
    friend = CustomerFactory.with_balance(1_000_000)
    assert services.customer_apply_referral(customer=friend, code=referrer.referral_code)
    return referrer, friend


def test_a_held_referral_reward_is_not_paid_until_released_and_then_once(stand, settings):
    referrer, friend = _referred_pair(settings)
    stand.verdicts["referral"] = risk.Verdict(risk.HOLD, 70, ("12 friends invited in an hour",))
    plan = PlanFactory(price_amount=200_000)
    order = services.order_checkout(customer_id=friend.pk, plan_id=plan.pk, quantity=1, idempotency_key="r1").order
    assert stand.asked[0]["referrer_id"] == referrer.pk and stand.asked[0]["order"].pk == order.pk
    assert not ReferralReward.objects.exists() and Customer.objects.get(pk=referrer.pk).balance_amount == 0
    assert services.referral_reward_release(referred_id=friend.pk, order_id=order.pk) is not None
    assert services.referral_reward_release(referred_id=friend.pk, order_id=order.pk) is None
    assert Customer.objects.get(pk=referrer.pk).balance_amount == 20_000


def test_a_flagged_referral_reward_is_paid(stand, settings):
    referrer, friend = _referred_pair(settings)
    stand.verdicts["referral"] = risk.Verdict(risk.FLAG, 40, ("x",))
    plan = PlanFactory(price_amount=200_000)
    services.order_checkout(customer_id=friend.pk, plan_id=plan.pk, quantity=1, idempotency_key="r1")
    assert Customer.objects.get(pk=referrer.pk).balance_amount == 20_000


def test_a_held_trial_is_refused_politely_and_starts_when_released(stand, monkeypatch, settings):
    from vpnbot.shop import provisioning
    from vpnbot.shop.provisioning import ManualProvisioner

    plan = PlanFactory(name="Trial")
    monkeypatch.setattr(ManualProvisioner, "plan_targets", lambda self, plans: {p.pk: [1] for p in plans})
    monkeypatch.setattr(provisioning, "_registered", ManualProvisioner())
    settings.TRIAL_ENABLED, settings.TRIAL_PLAN_ID = True, plan.pk
    customer = CustomerFactory()
    stand.verdicts["trial"] = risk.Verdict(risk.HOLD, 70, ("account 2 hours old",))
    with pytest.raises(services.TrialHeld, match="being reviewed"):
        services.trial_start(customer_id=customer.pk)
    assert not Trial.objects.exists()
    assert services.trial_start(customer_id=customer.pk, released=True).is_trial


def test_a_held_refund_needs_a_second_confirmation(stand):
    order = OrderFactory(paid_amount=100_000)
    SubscriptionFactory(order=order, customer=order.customer, plan=order.plan)
    stand.verdicts["refund"] = risk.Verdict(risk.HOLD, 75, ("3rd refund",))
    with pytest.raises(services.RiskHeld):
        services.order_refund(order_id=order.pk, reason="asked", by="@boss")
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert stand.asked[0]["amount"] == 100_000 and stand.asked[0]["confirmed_by"] == ""
    assert services.order_refund(order_id=order.pk, reason="asked", by="@boss", confirm=True).status == "refunded"


def test_the_api_answers_409_for_a_held_receipt_and_approves_on_confirm(stand, admin_client):
    payment = PaymentFactory()
    stand.verdicts["payment"] = HOLD
    response = admin_client.post(f"/api/v1/topups/{payment.pk}/approve/", {}, content_type="application/json")
    assert response.status_code == 409 and response.json()["risk_score"] == 80
    assert response.json()["risk_reasons"] == list(HOLD.reasons)
    response = admin_client.post(f"/api/v1/topups/{payment.pk}/approve/", {"confirm": True},
                                 content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert response.json()["risk_confirmed_by"].startswith("api:")


# --- the transport's gate --------------------------------------------------------------------------------

def test_a_gated_person_gets_one_answer_and_nothing_runs(bot, fake_telegram, monkeypatch):
    told = []

    def gate(telegram_id):
        if telegram_id != 7200001:
            return None
        told.append(telegram_id)
        return "You cannot use this bot." if len(told) == 1 else ""

    monkeypatch.setattr(permissions, "_gates", [gate])
    user = TelegramUser(7200001, language_code="en")
    bot.send(user, "/start")
    bot.send(user, "/wallet")
    bot.press(user, "buy:cancel")
    assert fake_telegram.sent_texts(user.id) == ["You cannot use this bot."]
    assert not Customer.objects.filter(telegram_id=user.id).exists()  # not even registered
    other = TelegramUser(7200002, language_code="en")
    bot.send(other, "/start")
    assert Customer.objects.filter(telegram_id=other.id).exists()


def test_the_receipt_photo_unique_id_is_kept(bot, fake_telegram, stand):
    user = TelegramUser(7200003, language_code="en")
    bot.send(user, "/topup")
    bot.send(user, "200000")
    bot.photo(user, "AQAD-receipt-1")
    payment = Payment.objects.get(customer__telegram_id=user.id)
    assert payment.receipt_unique_id == "AQAD-receipt-1"
