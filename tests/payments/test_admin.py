"""The payments in the admin: one read-only list of every provider with its filters, search and
dates; a detail page with the timeline; check, credit, refuse and refund behind a confirmation
page (a reason where money moves), each payment reported on its own, each action behind its
permission; a card receipt points to its top-up."""

import html

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages

from payments import services
from payments.models import Payment
from payments.providers import ProviderError
from tests.admin_i18n import assert_shows
from tests.factories import CustomerFactory, PaymentFactory
from tests.payments.ops import staff, stars_payment, use_fake_stars
from vpnbot.shop.models import Customer, WalletTransaction
from vpnbot.shop.services import wallet_apply

pytestmark = pytest.mark.django_db
LIST = "/admin/payments/payment/"


@pytest.fixture
def fake_stars():
    fake, restore = use_fake_stars()
    yield fake
    restore()


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("pay-admin", "pa@example.com", "pw"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def customer(db):
    return CustomerFactory(balance_amount=0, username="neda")


@pytest.fixture
def held(customer):
    return stars_payment(customer, note="paid 40 XTR, asked 50 XTR")


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def act(client, action, *payments, HTTP_ACCEPT_LANGUAGE="en", **form):
    return client.post(LIST, {"action": action, "_selected_action": [p.pk for p in payments], **form}, follow=True,
                       HTTP_ACCEPT_LANGUAGE=HTTP_ACCEPT_LANGUAGE)


def balance(customer) -> int:
    return Customer.objects.get(pk=customer.pk).balance_amount


def test_one_list_with_filters_search_and_dates(admin_client, held, customer):
    receipt = PaymentFactory(amount=300_000)
    card = services.receipt_mirror(receipt_id=receipt.pk)
    page = admin_client.get(LIST)
    assert page.status_code == 200
    assert_shows(page, "Telegram Stars", "Card receipt", "charge-1", "50 XTR", "50,000 Toman", "300,000 Toman",
                 "held for an admin", "waiting for payment")
    for query, shown, hidden in [
        ("?provider__exact=stars", held, card), ("?provider__exact=card", card, held),
        ("?status__exact=held", held, card), ("?purpose__exact=topup", held, None),
        ("?q=charge-1", held, card), (f"?q={customer.telegram_id}", held, card), ("?q=neda", held, card),
        (f"?q=receipt:{receipt.pk}", card, held), ("?q=nothing-like-it", None, held),
        (f"?created_at__year={held.created_at.year}", held, None),
    ]:
        page = admin_client.get(f"{LIST}{query}")
        assert page.status_code == 200, query
        rows = {p.pk for p in page.context["cl"].result_list}
        assert shown is None or shown.pk in rows, query
        assert hidden is None or hidden.pk not in rows, query


def test_the_detail_page_is_read_only_with_the_timeline(admin_client, held, fake_stars):
    services.payment_check(payment_id=held.pk)  # a held payment is left as it is by a check
    services.payment_credit_held(payment_id=held.pk, by="admin:boss", reason="40 is fine")
    page = admin_client.get(f"{LIST}{held.pk}/change/")
    assert page.status_code == 200
    content = html.unescape(page.content.decode())
    assert "credited by an admin" in content and "admin:boss: 40 is fine" in content
    assert "2026-01-02" in content and "50 XTR" in content and "paid 40 XTR, asked 50 XTR" not in content
    assert 'name="_save"' not in content
    assert admin_client.post(f"{LIST}{held.pk}/change/", {"status": "refused"}).status_code == 403
    assert admin_client.get(f"{LIST}add/").status_code == 403
    assert admin_client.post(f"{LIST}{held.pk}/delete/", {"post": "yes"}).status_code == 403
    assert b"delete_selected" not in admin_client.get(LIST).content
    held.refresh_from_db()
    assert held.status == "paid"


def test_credit_asks_first_and_needs_a_reason_then_credits_once(admin_client, held, customer):
    asked = admin_client.post(LIST, {"action": "credit_held", "_selected_action": [held.pk]})
    assert asked.status_code == 200 and b'name="confirm"' in asked.content and b'name="reason"' in asked.content
    assert_shows(asked, "Credit held payments", str(held))
    no_reason = admin_client.post(LIST, {"action": "credit_held", "_selected_action": [held.pk], "confirm": "yes"})
    assert no_reason.status_code == 200 and b"required" in no_reason.content
    held.refresh_from_db()
    assert held.status == "held" and balance(customer) == 0

    other = stars_payment(CustomerFactory(), status=Payment.Status.REFUSED, charge="charge-2")
    done = act(admin_client, "credit_held", held, other, confirm="yes", reason="seen at Telegram")
    shown = texts(done)
    assert any(f"Payment #{held.pk} credited: 50,000 Toman to @neda" in t for t in shown), shown
    assert any(f"Payment #{other.pk}: This payment is already refused" in t for t in shown), shown
    held.refresh_from_db()
    assert held.status == "paid" and held.decided_by == "admin:pay-admin" and held.note == "seen at Telegram"
    again = act(admin_client, "credit_held", held, confirm="yes", reason="again")
    assert any("already paid" in t for t in texts(again))
    assert list(WalletTransaction.objects.filter(customer=customer).values_list("amount", flat=True)) == [50_000]


def test_refuse_with_a_reason(admin_client, held, customer):
    asked = admin_client.post(LIST, {"action": "refuse", "_selected_action": [held.pk]})
    assert asked.status_code == 200 and b'name="reason"' in asked.content
    done = act(admin_client, "refuse", held, confirm="yes", reason="not our invoice")
    assert any(f"Payment #{held.pk} refused" in t for t in texts(done))
    held.refresh_from_db()
    assert held.status == "refused" and held.note == "not our invoice" and balance(customer) == 0


def test_check_now_reports_each_payment(admin_client, fake_stars, customer):
    pending = stars_payment(customer, status=Payment.Status.PENDING, charge=None)
    asked = admin_client.post(LIST, {"action": "check_now", "_selected_action": [pending.pk]})
    assert asked.status_code == 200 and b'name="confirm"' in asked.content and fake_stars.checked == []
    done = act(admin_client, "check_now", pending, confirm="yes")
    assert any(f"Payment #{pending.pk} is paid: 50,000 Toman credited" in t for t in texts(done)), texts(done)
    assert balance(customer) == 50_000

    short = stars_payment(customer, status=Payment.Status.PENDING, charge="charge-3", stars="55")
    down = stars_payment(customer, status=Payment.Status.PENDING, charge="charge-4")
    fake_stars.checked.clear()
    results = []

    def check(payment):  # short gets the 50 Stars of the default answer, down does not answer
        results.append(payment.pk)
        if payment.pk == down.pk:
            raise ProviderError("Bad Gateway")
        return fake_stars.answer

    fake_stars.check = check
    shown = texts(act(admin_client, "check_now", short, down, confirm="yes"))
    assert any(f"Payment #{short.pk} is held: paid 50 XTR, asked 55 XTR" in t for t in shown), shown
    assert any(f"Payment #{down.pk}: " in t and "Bad Gateway" in t for t in shown), shown
    assert balance(customer) == 50_000


def test_refund_to_the_provider(admin_client, fake_stars, customer):
    paid = stars_payment(customer, status=Payment.Status.PAID)
    wallet_apply(customer_id=customer.pk, amount=50_000, reason="topup", source=f"pay:stars:{paid.pk}")
    asked = admin_client.post(LIST, {"action": "refund", "_selected_action": [paid.pk], "confirm": "yes"})
    assert asked.status_code == 200 and b"required" in asked.content and fake_stars.refunded == []
    done = act(admin_client, "refund", paid, confirm="yes", reason="the customer asked")
    assert any(f"Payment #{paid.pk} refunded: 50 XTR back to the customer" in t for t in texts(done))
    assert fake_stars.refunded == [paid.pk] and balance(customer) == 0
    again = act(admin_client, "refund", paid, confirm="yes", reason="again")
    assert any("Only a paid payment" in t for t in texts(again))


def test_a_card_receipt_points_to_its_top_up(admin_client):
    receipt = PaymentFactory(amount=300_000)
    card = services.receipt_mirror(receipt_id=receipt.pk)
    for action in ("credit_held", "refuse", "check_now"):
        done = act(admin_client, action, card, confirm="yes", reason="x")
        content = done.content.decode()
        assert f'href="/admin/shop/payment/{receipt.pk}/change/"' in content, action
        assert f"top-up #{receipt.pk}" in html.unescape(content), action
    refund = act(admin_client, "refund", card, confirm="yes", reason="x")
    assert any("card top-up" in t for t in texts(refund))
    card.refresh_from_db()
    assert card.status == "pending" and balance(receipt.customer) == 0


def test_the_actions_follow_the_permissions(client, held, fake_stars, customer):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(staff("viewer", "view_payment"))
    page = client.get(LIST)
    assert page.status_code == 200 and b"charge-1" in page.content
    for action in ("check_now", "credit_held", "refuse", "refund"):
        assert f'value="{action}"'.encode() not in page.content
    act(client, "credit_held", held, confirm="yes", reason="x")
    held.refresh_from_db()
    assert held.status == "held" and balance(customer) == 0

    client.force_login(staff("decider", "view_payment", "decide_payment"))
    page = client.get(LIST)
    assert b'value="credit_held"' in page.content and b'value="refund"' not in page.content
    act(client, "refuse", held, confirm="yes", reason="not ours")
    held.refresh_from_db()
    assert held.status == "refused"

    paid = stars_payment(customer, status=Payment.Status.PAID, charge="charge-5")
    wallet_apply(customer_id=customer.pk, amount=50_000, reason="topup", source=f"pay:stars:{paid.pk}")
    act(client, "refund", paid, confirm="yes", reason="x")
    assert fake_stars.refunded == []
    client.force_login(staff("refunder", "view_payment", "refund_payment"))
    assert b'value="credit_held"' not in client.get(LIST).content
    act(client, "refund", paid, confirm="yes", reason="asked")
    assert fake_stars.refunded == [paid.pk]

    client.force_login(staff("stranger"))
    assert client.get(LIST).status_code == 403


def test_the_admin_speaks_persian(admin_client, held, customer):
    page = admin_client.get(LIST, HTTP_ACCEPT_LANGUAGE="fa")
    assert_shows(page, "پرداخت‌های آنلاین", "ستاره‌های تلگرام", "نگه‌داشته برای بررسی مدیر", "درگاه",
                 "مبلغ درخواستی در درگاه")
    asked = admin_client.post(LIST, {"action": "credit_held", "_selected_action": [held.pk]},
                              HTTP_ACCEPT_LANGUAGE="fa")
    assert_shows(asked, "واریز پرداخت‌های نگه‌داشته به کیف پول", "دلیل")
    done = act(admin_client, "credit_held", held, confirm="yes", reason="دیده شد", HTTP_ACCEPT_LANGUAGE="fa")
    [shown] = texts(done)
    assert f"پرداخت شمارهٔ {held.pk} واریز شد" in shown and "credited" not in shown
    detail = admin_client.get(f"{LIST}{held.pk}/change/", HTTP_ACCEPT_LANGUAGE="fa")
    assert_shows(detail, "واریز به کیف پول توسط مدیر", "روند", "تاریخچه")
