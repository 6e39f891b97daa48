"""The payments' staff API: every provider's payments in one list with validated filters, read
only; check with the provider, credit or refuse a held payment, refund to the provider, each
behind its permission; a card receipt points to its top-up; the receipts API at /api/v1/topups/."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from payments import services
from payments.models import Payment
from payments.providers import EXPIRED, Confirmation, ProviderError
from tests.factories import CustomerFactory, PaymentFactory
from tests.payments.ops import api_for, staff, stars_payment, use_fake_stars
from vpnbot.shop.models import Customer, WalletTransaction
from vpnbot.shop.services import wallet_apply

pytestmark = pytest.mark.django_db
FIELDS = {"id", "provider", "provider_payment_id", "customer", "purpose", "amount", "currency", "provider_amount",
          "received_amount", "received_currency", "status", "status_detail", "order", "plan", "note", "decided_by",
          "timeline", "created_at", "paid_at"}


@pytest.fixture
def fake_stars():
    fake, restore = use_fake_stars()
    yield fake
    restore()


@pytest.fixture
def boss():
    return api_for(User.objects.create_superuser("boss", "boss@example.com", "pw"))


@pytest.fixture
def held(customer):
    return stars_payment(customer, note="paid 40 XTR, asked 50 XTR")


@pytest.fixture
def card(customer):
    """A card receipt, mirrored into the payments list as the shop does when one is sent."""
    receipt = PaymentFactory(customer=customer, amount=300_000)
    return services.receipt_mirror(receipt_id=receipt.pk)


def ledger(customer) -> list:
    return list(WalletTransaction.objects.filter(customer=customer).values_list("amount", "source"))


def test_one_list_of_every_provider_with_the_contracted_fields(boss, held, card):
    other = stars_payment(CustomerFactory(), status=Payment.Status.PAID, charge="charge-2")
    listed = boss.get("/api/v1/payments/")
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [r["id"] for r in rows] == [other.pk, card.pk, held.pk]  # newest first
    assert FIELDS <= set(rows[0])
    row = next(r for r in rows if r["id"] == held.pk)
    assert row["provider"] == "stars" and row["currency"] == "XTR" and Decimal(row["provider_amount"]) == 50
    assert row["customer"] == held.customer_id and row["status"] == "held" and row["note"].startswith("paid 40")
    assert row["timeline"] == [{"at": "2026-01-02T10:00:00+00:00", "event": "created", "detail": "50 XTR"}]
    card_row = next(r for r in rows if r["id"] == card.pk)
    assert card_row["provider"] == "card" and card_row["receipt"] == card.receipt_id and card_row["amount"] == 300_000
    one = boss.get(f"/api/v1/payments/{held.pk}/")
    assert one.status_code == 200 and one.json() == row


def test_filters_by_provider_status_purpose_and_customer(boss, held, card, customer):
    stars_payment(CustomerFactory(), status=Payment.Status.PAID, charge="charge-2")

    def ids(query):
        response = boss.get(f"/api/v1/payments/?{query}")
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    assert ids("provider=card") == {card.pk}
    assert ids("provider=stars&status=held") == {held.pk}
    assert ids(f"customer={customer.pk}") == {held.pk, card.pk}
    assert ids("purpose=order") == set()
    assert len(ids("status=pending")) == 1  # the card receipt waiting for review


@pytest.mark.parametrize(("query", "field", "valid"), [
    ("provider=paypal", "provider", "card, stars, zarinpal, nowpayments"),
    ("status=approved", "status", "pending, paid, held, failed, refused, cancelled, expired, refunded"),
    ("purpose=gift", "purpose", "topup, order"),
    ("customer=²", "customer", "whole number"),
])
def test_a_bad_filter_is_a_400_naming_the_valid_values(boss, held, query, field, valid):
    response = boss.get(f"/api/v1/payments/?{query}")
    assert response.status_code == 400
    assert valid in response.json()[field][0]


def test_read_only_no_create_change_or_delete(boss, held):
    assert boss.post("/api/v1/payments/", {"provider": "stars"}, format="json").status_code == 405
    assert boss.patch(f"/api/v1/payments/{held.pk}/", {"status": "paid"}, format="json").status_code == 405
    assert boss.put(f"/api/v1/payments/{held.pk}/", {"status": "paid"}, format="json").status_code == 405
    assert boss.delete(f"/api/v1/payments/{held.pk}/").status_code == 405
    held.refresh_from_db()
    assert held.status == "held"


def test_permissions_view_decide_refund(held, fake_stars, customer):
    url = f"/api/v1/payments/{held.pk}"
    nobody = api_for(staff("nobody"))
    assert nobody.get("/api/v1/payments/").status_code == 403
    assert nobody.get("/api/v1/payments/?provider=paypal").status_code == 403  # the filters are not told either
    assert nobody.get(f"{url}/").status_code == 403

    plain = api_for(staff("customer-like", "view_payment", "decide_payment", is_staff=False))  # not staff
    assert plain.get("/api/v1/payments/").status_code == 403
    assert plain.post(f"{url}/credit/", {"reason": "x"}, format="json").status_code == 403

    viewer = api_for(staff("viewer", "view_payment"))
    assert viewer.get("/api/v1/payments/").status_code == 200
    for action, body in (("check", None), ("credit", {"reason": "seen"}), ("refuse", {"reason": "no"}),
                         ("refund", {"reason": "asked"})):
        assert viewer.post(f"{url}/{action}/", body, format="json").status_code == 403, action
    assert fake_stars.checked == []
    held.refresh_from_db()
    assert held.status == "held" and ledger(customer) == []

    decider = api_for(staff("decider", "view_payment", "decide_payment"))
    assert decider.post(f"{url}/credit/", {"reason": "seen at Telegram"}, format="json").status_code == 200
    assert decider.post(f"{url}/refund/", {"reason": "asked"}, format="json").status_code == 403
    refunder = api_for(staff("refunder", "view_payment", "refund_payment"))
    assert refunder.post(f"{url}/refuse/", {"reason": "x"}, format="json").status_code == 403
    assert refunder.post(f"{url}/refund/", {"reason": "asked"}, format="json").status_code == 200
    assert fake_stars.refunded == [held.pk]


def test_credit_a_held_payment_once(boss, held, customer):
    url = f"/api/v1/payments/{held.pk}/credit/"
    assert boss.post(url, {}, format="json").status_code == 400  # a reason is required
    assert boss.post(url, {"reason": "   "}, format="json").status_code == 400
    assert ledger(customer) == []
    credited = boss.post(url, {"reason": "40 Stars is fine"}, format="json")
    assert credited.status_code == 200, credited.content
    data = credited.json()
    assert data["status"] == "paid" and data["decided_by"] == "api:boss" and data["note"] == "40 Stars is fine"
    assert data["paid_at"] and data["timeline"][-1]["event"] == "credited by an admin"
    assert ledger(customer) == [(50_000, f"pay:stars:{held.pk}")]
    again = boss.post(url, {"reason": "again"}, format="json")
    assert again.status_code == 400 and "already" in again.json()["detail"]
    assert Customer.objects.get(pk=customer.pk).balance_amount == 50_000


def test_refuse_a_held_payment(boss, held, customer):
    url = f"/api/v1/payments/{held.pk}/refuse/"
    assert boss.post(url, {}, format="json").status_code == 400
    refused = boss.post(url, {"reason": "not our invoice"}, format="json")
    assert refused.status_code == 200
    assert refused.json()["status"] == "refused" and refused.json()["note"] == "not our invoice"
    assert boss.post(url, {"reason": "again"}, format="json").status_code == 400
    assert boss.post(f"/api/v1/payments/{held.pk}/credit/", {"reason": "changed my mind"},
                     format="json").status_code == 400
    assert ledger(customer) == []


def test_check_applies_the_providers_answer(boss, fake_stars, customer):
    pending = stars_payment(customer, status=Payment.Status.PENDING, charge=None)
    checked = boss.post(f"/api/v1/payments/{pending.pk}/check/")
    assert checked.status_code == 200, checked.content
    assert checked.json()["status"] == "paid" and fake_stars.checked == [pending.pk]
    assert ledger(customer) == [(50_000, f"pay:stars:{pending.pk}")]
    assert boss.post(f"/api/v1/payments/{pending.pk}/check/").json()["status"] == "paid"  # once
    assert len(ledger(customer)) == 1

    gone = stars_payment(customer, status=Payment.Status.PENDING, charge="charge-9")
    fake_stars.answer = Confirmation(EXPIRED, detail="no such payment")
    assert boss.post(f"/api/v1/payments/{gone.pk}/check/").json()["status"] == "expired"

    down = stars_payment(customer, status=Payment.Status.PENDING, charge="charge-10")
    fake_stars.error = ProviderError("Bad Gateway")
    failed = boss.post(f"/api/v1/payments/{down.pk}/check/")
    assert failed.status_code == 400 and "Bad Gateway" in failed.json()["detail"]
    down.refresh_from_db()
    assert down.status == "pending" and down.checked_at


def test_refund_to_the_provider(boss, fake_stars, customer):
    paid = stars_payment(customer, status=Payment.Status.PAID)
    url = f"/api/v1/payments/{paid.pk}/refund/"
    assert boss.post(url, {}, format="json").status_code == 400
    poor = boss.post(url, {"reason": "asked"}, format="json")  # the wallet does not hold it
    assert poor.status_code == 400 and "wallet" in poor.json()["detail"] and fake_stars.refunded == []
    wallet_apply(customer_id=customer.pk, amount=50_000, reason="topup", source=f"pay:stars:{paid.pk}")
    fake_stars.error = ProviderError("CHARGE_NOT_FOUND", retry=False)
    refused = boss.post(url, {"reason": "asked"}, format="json")
    assert refused.status_code == 400 and "CHARGE_NOT_FOUND" in refused.json()["detail"]
    assert Customer.objects.get(pk=customer.pk).balance_amount == 50_000  # the debit rolled back
    fake_stars.error = None
    done = boss.post(url, {"reason": "asked"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "refunded"
    assert fake_stars.refunded == [paid.pk] and Customer.objects.get(pk=customer.pk).balance_amount == 0
    assert boss.post(url, {"reason": "again"}, format="json").status_code == 400


def test_a_card_receipt_points_to_its_top_up(boss, card):
    topup = f"/api/v1/topups/{card.receipt_id}"
    for action in ("credit", "refuse", "check"):
        response = boss.post(f"/api/v1/payments/{card.pk}/{action}/", {"reason": "x"}, format="json")
        assert response.status_code == 400, action
        body = response.json()
        assert body["approve"] == f"{topup}/approve/" and body["reject"] == f"{topup}/reject/"
        assert f"{topup}/approve/" in body["detail"] and "top-up" in body["detail"]
    refund = boss.post(f"/api/v1/payments/{card.pk}/refund/", {"reason": "x"}, format="json")
    assert refund.status_code == 400 and "card top-up" in refund.json()["detail"]
    card.refresh_from_db()
    assert card.status == "pending"

    # the receipts API is at /api/v1/topups/, as it was at /api/v1/payments/; its decision shows here
    assert boss.get("/api/v1/topups/?status=pending").json()["count"] == 1
    assert boss.post(f"{topup}/approve/").status_code == 200
    assert boss.post(f"{topup}/approve/").status_code == 409
    assert Customer.objects.get(pk=card.customer_id).balance_amount == 300_000
    assert boss.get(f"/api/v1/payments/{card.pk}/").json()["status"] == "paid"
    root = boss.get("/api/v1/").json()
    assert root["payments"].endswith("/api/v1/payments/") and root["topups"].endswith("/api/v1/topups/")


def test_an_unknown_payment_is_a_404(boss):
    assert boss.get("/api/v1/payments/999999/").status_code == 404
    assert boss.post("/api/v1/payments/999999/credit/", {"reason": "x"}, format="json").status_code == 404


def test_the_received_amount_is_shown_as_reported(boss, customer):
    payment = stars_payment(customer, received_amount=Decimal("40"), received_currency="XTR")
    row = boss.get(f"/api/v1/payments/{payment.pk}/").json()
    assert Decimal(row["received_amount"]) == 40 and row["received_currency"] == "XTR"
