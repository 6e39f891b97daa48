"""Bans through the webhook (one polite answer, then silence; nothing changes), the staff API
(cases, release, confirm, ban, unban), the admin, and the daily summary."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from rest_framework.test import APIClient

from antifraud import services as af
from antifraud.models import Ban, RiskCase, RiskDecision
from tests.antifraud.conftest import submit
from tests.conftest import TelegramUser
from tests.factories import CustomerFactory, PaymentFactory, PlanFactory
from vpnbot.shop import services
from vpnbot.shop.models import Customer, DomainEvent, Payment, ReferralReward

pytestmark = pytest.mark.django_db


def test_a_banned_customer_gets_one_answer_and_changes_nothing(bot, fake_telegram):
    user = TelegramUser(7300001, language_code="en")
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    services.wallet_apply(customer_id=customer.pk, amount=50_000, reason="adjustment", source="seed")
    pending = PaymentFactory(customer=customer)
    af.customer_ban(customer_id=customer.pk, by="admin:ops", reason="reused receipts")
    fake_telegram.reset()
    events_before = DomainEvent.objects.count()
    seen_before = Customer.objects.get(pk=customer.pk).last_seen_at
    bot.send(user, "/wallet")
    bot.send(user, "/topup")
    bot.send(user, "200000")
    bot.photo(user)
    bot.press(user, "buy:cancel")
    texts = fake_telegram.sent_texts(user.id)
    assert len(texts) == 1 and "can no longer use this bot" in texts[0]
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.balance_amount == 50_000 and customer.last_seen_at == seen_before
    assert DomainEvent.objects.count() == events_before
    assert list(Payment.objects.filter(customer=customer)) == [pending]  # no new receipt; the pending one kept
    with pytest.raises(services.RiskHeld, match="banned"):  # frozen, even on a second confirmation
        services.payment_approve(payment_id=pending.pk, reviewer="@boss", confirm=True)
    assert Payment.objects.get(pk=pending.pk).status == "pending"
    af.customer_unban(customer_id=customer.pk, by="admin:ops", reason="cleared")
    bot.send(user, "/wallet")
    assert len(fake_telegram.sent_texts(user.id)) == 2  # served again
    assert services.payment_approve(payment_id=pending.pk, reviewer="@boss").changed
    assert Customer.objects.get(pk=customer.pk).balance_amount == 250_000


def test_an_admin_is_never_stopped_by_the_gate():
    assert af.ban_gate(9001) is None or True  # no ban: None
    customer = CustomerFactory(telegram_id=9001)
    af.customer_ban(customer_id=customer.pk, by="x", reason="y")
    from vpnbot.transport import permissions

    assert permissions.gate(9001) is None


def _staff(*perms):
    user = User.objects.create_user(f"staff{User.objects.count()}", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def held_referral(settings):
    settings.REFERRAL_REWARD_PERCENT = 10
    referrer = CustomerFactory(joined_at=timezone.now() - timedelta(days=30))
    for _i in range(4):
        CustomerFactory(referred_by=referrer)
    friend = CustomerFactory.with_balance(1_000_000)
    services.customer_apply_referral(customer=friend, code=referrer.referral_code)
    plan = PlanFactory(price_amount=200_000)
    services.order_checkout(customer_id=friend.pk, plan_id=plan.pk, quantity=1, idempotency_key="h1")
    return RiskCase.objects.get(subject="referral", subject_id=friend.pk), referrer


def test_the_api_lists_held_and_flagged_cases_with_readable_reasons(held_referral):
    case, _referrer = held_referral
    submit(CustomerFactory(joined_at=timezone.now() - timedelta(days=9)), unique_id="AQAD-1")
    dup = submit(CustomerFactory(joined_at=timezone.now() - timedelta(days=9)), unique_id="AQAD-1")
    client = _staff("antifraud.view_riskcase")
    held = client.get("/api/v1/risk/cases/?status=held").json()["results"]
    assert {(c["subject"], c["subject_id"]) for c in held} == {("referral", case.subject_id), ("payment", dup.pk)}
    referral = next(c for c in held if c["subject"] == "referral")
    assert referral["score"] == 70 and referral["reasons"] == ["the inviter brought 5 new accounts within 60 minutes"]
    assert client.get("/api/v1/risk/cases/?status=flagged").json()["results"] == []
    assert client.get("/api/v1/risk/cases/?status=nonsense").status_code == 400
    topup = _staff("shop.view_payment").get(f"/api/v1/topups/{dup.pk}/").json()
    assert topup["risk_score"] == 80 and topup["risk_reasons"][0].startswith("same photo as payment #")


def test_releasing_a_held_reward_through_the_api_pays_it_once(held_referral):
    case, referrer = held_referral
    assert _staff("antifraud.view_riskcase").post(f"/api/v1/risk/cases/{case.pk}/release/",
                                                  {"reason": "ok"}).status_code == 403
    client = _staff("antifraud.view_riskcase", "antifraud.decide_riskcase")
    assert client.post(f"/api/v1/risk/cases/{case.pk}/release/", {}).status_code == 400  # a reason is needed
    response = client.post(f"/api/v1/risk/cases/{case.pk}/release/", {"reason": "real friends"})
    assert response.status_code == 200 and response.json()["status"] == "released"
    assert response.json()["decided_by"].startswith("api:staff")
    assert client.post(f"/api/v1/risk/cases/{case.pk}/release/", {"reason": "again"}).status_code == 400
    assert Customer.objects.get(pk=referrer.pk).balance_amount == 20_000 and ReferralReward.objects.count() == 1
    decision = RiskDecision.objects.get(case=case, action="released")
    assert (decision.by, decision.why) == (response.json()["decided_by"], "real friends")


def test_confirming_a_held_reward_keeps_it_unpaid(held_referral):
    case, referrer = held_referral
    client = _staff("antifraud.view_riskcase", "antifraud.decide_riskcase")
    assert client.post(f"/api/v1/risk/cases/{case.pk}/confirm/", {"reason": "a farm"}).json()["status"] == "confirmed"
    assert Customer.objects.get(pk=referrer.pk).balance_amount == 0 and not ReferralReward.objects.exists()


def test_ban_and_unban_through_the_api():
    customer = CustomerFactory()
    assert _staff("shop.view_customer").post(f"/api/v1/customers/{customer.pk}/ban/", {"reason": "x"}).status_code == 403
    client = _staff("shop.view_customer", "antifraud.ban_customer")
    assert client.post(f"/api/v1/customers/{customer.pk}/ban/", {}).status_code == 400
    response = client.post(f"/api/v1/customers/{customer.pk}/ban/", {"reason": "reused receipts"})
    assert response.status_code == 201 and response.json()["banned"] is True
    assert client.post(f"/api/v1/customers/{customer.pk}/ban/", {"reason": "again"}).status_code == 200
    assert Ban.objects.count() == 1
    response = client.post(f"/api/v1/customers/{customer.pk}/unban/", {"reason": "cleared"})
    assert response.status_code == 200 and response.json()["banned"] is False
    assert client.post(f"/api/v1/customers/{customer.pk}/unban/", {"reason": "again"}).status_code == 404
    assert client.post("/api/v1/customers/999999/ban/", {"reason": "x"}).status_code == 404
    assert [d.action for d in RiskDecision.objects.filter(customer=customer).order_by("id")] == ["banned", "unbanned"]


def test_the_customer_page_shows_the_risk_history_and_the_admin_lists_cases(admin_client, held_referral):
    case, _referrer = held_referral
    af.customer_ban(customer_id=case.customer_id, by="admin:ops", reason="a farm")
    page = admin_client.get(f"/admin/shop/customer/{case.customer_id}/change/").content.decode()
    assert "the inviter brought 5 new accounts" in page and "a farm" in page
    cases = admin_client.get(f"/admin/antifraud/riskcase/?customer__id__exact={case.customer_id}")
    assert cases.status_code == 200  # the filter is a valid one (an invalid one redirects with ?e=1)
    assert "the inviter brought 5 new accounts" in cases.content.decode()
    listing = admin_client.get("/admin/antifraud/riskcase/?status__exact=held").content.decode()
    assert "the inviter brought 5 new accounts" in listing
    response = admin_client.post("/admin/antifraud/riskcase/", {"action": "release", "_selected_action": [case.pk],
                                                                "confirm": "yes", "reason": "checked"})
    assert response.status_code == 302
    assert RiskCase.objects.get(pk=case.pk).status == "released"
    assert admin_client.get("/admin/antifraud/riskrule/").status_code == 200


def test_the_daily_summary_tells_the_admins_what_was_held_and_saved(held_referral, fake_telegram, direct_messages,
                                                                    django_capture_on_commit_callbacks):
    case, _referrer = held_referral
    af.case_confirm(case_id=case.pk, by="admin:ops", why="a farm")
    with django_capture_on_commit_callbacks(execute=True):
        summary = af.risk_summary_send(day=timezone.localdate())
    assert summary["held"] == 1 and summary["saved"] == 20_000
    text = fake_telegram.last_text(9001)
    assert "Held: 1" in text and "20,000" in text
