"""Online payments (Stars, Zarinpal, NowPayments) through the risk checks: payment_confirm
asks before it credits; a hold waits for an admin's credit (the second confirmation), a flag
credits and keeps the case, a banned customer's money is frozen (held, never lost, never
credited twice); the score and reasons in the staff API and the admin."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from antifraud import services as af
from antifraud.models import RiskCase, RiskRule
from payments import providers, services
from payments.models import Payment
from payments.providers import Confirmation
from tests.factories import CustomerFactory
from tests.payments.ops import api_for, stars_payment
from vpnbot.shop.models import WalletTransaction

pytestmark = pytest.mark.django_db


def paid(stars="50"):
    return Confirmation(providers.PAID, amount=Decimal(stars), currency="XTR", detail="finished")


def old_customer(**extra):
    return CustomerFactory(balance_amount=0, language="en", joined_at=timezone.now() - timedelta(days=90), **extra)


def new_account_scores(score: int) -> None:
    RiskRule.objects.update_or_create(key="new_account", defaults={"score": score, "enabled": True})


def credits(customer) -> list:
    return list(WalletTransaction.objects.filter(customer=customer).values_list("amount", flat=True))


def test_a_usual_payment_is_credited_with_its_score_kept(fake_telegram):
    customer = old_customer()
    payment = stars_payment(customer, status=Payment.Status.PENDING)
    applied = services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="telegram")
    assert applied.credited
    payment.refresh_from_db()
    assert (payment.status, payment.risk_score, payment.risk_action, payment.risk_reasons) == ("paid", 0, "allow", [])
    assert credits(customer) == [50_000]


def test_a_held_payment_waits_for_an_admin_and_is_credited_once(fake_telegram, settings,
                                                                django_capture_on_commit_callbacks):
    settings.ADMIN_TELEGRAM_IDS = [9001]
    new_account_scores(80)
    customer = CustomerFactory(balance_amount=0, language="en", telegram_id=7400001)
    payment = stars_payment(customer, status=Payment.Status.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        applied = services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="telegram")
    assert not applied.credited
    payment.refresh_from_db()
    assert payment.status == "held" and payment.risk_action == "hold" and payment.risk_score == 80
    assert payment.risk_reasons and "account" in payment.risk_reasons[0]
    assert payment.note.startswith("held by the risk checks (score 80): account")
    assert credits(customer) == []
    case = RiskCase.objects.get(subject="online_payment", subject_id=payment.pk)
    assert case.status == "held" and case.amount == 50_000
    assert any(f"#{payment.pk}" in t and "held" in t for t in fake_telegram.sent_texts(9001))
    assert any("an admin will look at it" in t for t in fake_telegram.sent_texts(7400001))
    # the provider says "paid" again (the poll, a retried callback): still held, nothing credited
    assert not services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="poll").credited
    assert credits(customer) == []
    # the admin's credit is the second confirmation: credited once, the case released by them
    assert services.payment_credit_held(payment_id=payment.pk, by="admin:boss", reason="checked at Telegram").credited
    assert credits(customer) == [50_000]
    case.refresh_from_db()
    assert case.status == "released" and case.decided_by == "admin:boss"
    with pytest.raises(services.PaymentsError):
        services.payment_credit_held(payment_id=payment.pk, by="admin:boss", reason="again")
    assert credits(customer) == [50_000]


def test_a_flagged_payment_is_credited_and_its_case_listed(fake_telegram):
    new_account_scores(40)
    customer = CustomerFactory(balance_amount=0, language="en")
    payment = stars_payment(customer, status=Payment.Status.PENDING)
    assert services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="telegram").credited
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.risk_action == "flag" and payment.risk_score == 40
    assert RiskCase.objects.get(subject="online_payment", subject_id=payment.pk).status == "flagged"
    assert credits(customer) == [50_000]


def test_a_banned_customers_payment_is_frozen_then_credited_once_when_the_ban_is_lifted(
        fake_telegram, django_capture_on_commit_callbacks):
    customer = old_customer(telegram_id=7400002)
    payment = stars_payment(customer, status=Payment.Status.PENDING)
    af.customer_ban(customer_id=customer.pk, by="admin:ops", reason="stolen cards")
    fake_telegram.reset()
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="telegram")
    payment.refresh_from_db()
    assert payment.status == "held" and payment.risk_action == "freeze" and "banned" in payment.note
    assert payment.received_amount == Decimal(50)  # what arrived is kept: frozen, not lost
    assert credits(customer) == [] and fake_telegram.sent_texts(7400002) == []  # a banned customer is not written to
    with pytest.raises(services.PaymentsError, match="banned"):
        services.payment_credit_held(payment_id=payment.pk, by="admin:boss", reason="looks fine")
    assert credits(customer) == []
    af.customer_unban(customer_id=customer.pk, by="admin:ops", reason="cleared")
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.risk_action == "allow"
    assert credits(customer) == [50_000]
    assert not services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="poll").credited
    assert credits(customer) == [50_000]


def test_a_ban_marks_pending_payments_frozen_and_the_unban_puts_them_back(fake_telegram):
    customer = old_customer()
    pending = stars_payment(customer, status=Payment.Status.PENDING)
    paid_before = stars_payment(customer, status=Payment.Status.PAID, charge="charge-2")
    af.customer_ban(customer_id=customer.pk, by="admin:ops", reason="chargebacks")
    pending.refresh_from_db()
    paid_before.refresh_from_db()
    assert pending.status == "pending" and pending.risk_action == "freeze" and pending.timeline[-1]["event"] == "frozen"
    assert paid_before.risk_action == "allow"  # decided money is not touched
    af.customer_unban(customer_id=customer.pk, by="admin:ops", reason="cleared")
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.risk_action == "allow" and pending.timeline[-1]["event"] == "unfrozen"
    # its normal path: paid, credited
    assert services.payment_confirm(payment_id=pending.pk, confirmation=paid(), via="telegram").credited


def test_the_api_and_the_admin_show_the_score_and_reasons(fake_telegram, client):
    new_account_scores(80)
    customer = CustomerFactory(balance_amount=0, language="en")
    payment = stars_payment(customer, status=Payment.Status.PENDING)
    services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="telegram")
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    rows = api_for(boss).get("/api/v1/payments/").json()["results"]
    row = next(r for r in rows if r["id"] == payment.pk)
    assert row["risk_score"] == 80 and row["risk_action"] == "hold" and "account" in row["risk_reasons"][0]
    client.force_login(boss)
    page = client.get(f"/admin/payments/payment/{payment.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Risk" in body and row["risk_reasons"][0] in body
    listing = client.get("/admin/payments/payment/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "risk score" in listing.lower()


def test_a_card_receipts_row_shows_its_top_ups_score(fake_telegram, client):
    from payments.services import receipt_mirror
    from tests.factories import PaymentFactory

    receipt = PaymentFactory(customer=CustomerFactory(), risk_score=80, risk_action="hold",
                             risk_reasons=["same photo as payment #1 by another customer"])
    row = receipt_mirror(receipt_id=receipt.pk)
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    listed = next(r for r in api_for(boss).get("/api/v1/payments/").json()["results"] if r["id"] == row.pk)
    assert (listed["risk_score"], listed["risk_action"]) == (80, "hold")
    assert listed["risk_reasons"] == ["same photo as payment #1 by another customer"]
    client.force_login(boss)
    page = client.get(f"/admin/payments/payment/{row.pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "same photo as payment #1 by another customer" in page
