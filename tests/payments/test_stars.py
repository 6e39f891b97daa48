"""Telegram Stars end to end through the webhook, against the fake Bot API: the invoice, the
pre-checkout answer on the fast path, the successful payment credited once, the order placed
and provisioned, refunds through the shop's refund flow, and reconciliation."""

import itertools
from decimal import Decimal

import pytest
from django.db import connections

from panels.models import PanelAccount
from payments import services
from payments.models import Payment
from tests.conftest import TelegramUser, run_threads
from tests.panels.conftest import make_panel, marzban  # noqa: F401  (fixtures)
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Customer, Order, Subscription, WalletTransaction
from vpnbot.shop.paymethods import Purchase
from vpnbot.transport.models import TelegramUpdate

_users = itertools.count(7_300_000)


@pytest.fixture(autouse=True)
def _stars_on(settings):
    settings.STARS_ENABLED = True
    settings.STARS_PER_UNIT = Decimal("1")  # 1 Star per 1,000
    settings.DEFAULT_CASHBACK_PERCENT = 0


def new_user() -> TelegramUser:
    return TelegramUser(next(_users), language_code="en", username=None)


def start(bot, user, balance=0) -> Customer:
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    if balance:
        shop_services.wallet_apply(customer_id=customer.pk, amount=balance, reason="adjustment", source=f"seed:{user.id}")
    return customer


def button(fake, chat_id, prefix) -> str:
    datas = [b.get("callback_data", "") for b in fake.buttons(chat_id)]
    found = [d for d in datas if d.startswith(prefix)]
    assert found, f"no {prefix} button in {datas}"
    return found[0]


def pre_checkout_update(fake, user, invoice, **kwargs) -> dict:
    return {"update_id": next(_users), "pre_checkout_query": fake.pre_checkout_query(user_id=user.id, invoice=invoice,
                                                                                    **kwargs)}


def successful_payment_update(user, paid: dict) -> dict:
    return {"update_id": next(_users), "message": {
        "message_id": next(_users), "date": 1, "from": user.as_dict(), "chat": {"id": user.id, "type": "private"},
        "successful_payment": paid}}


def pay_with_stars(bot, user, invoice) -> dict:
    """What Telegram does when the customer pays: ask, then (if the bot said yes) take and tell."""
    bot.post(pre_checkout_update(bot.fake, user, invoice))
    answer = list(bot.fake.pre_checkout_answers.values())[-1]
    assert answer["ok"], answer
    paid = bot.fake.pay_invoice(user_id=user.id, invoice=invoice)
    bot.post(successful_payment_update(user, paid))
    return paid


def no_failed_updates():
    failed = list(TelegramUpdate.objects.exclude(status="done").values_list("status", "error"))
    assert not failed, failed


@pytest.mark.django_db
def test_journey_short_wallet_pay_with_stars_order_placed_and_provisioned(bot, fake_telegram, marzban, make_panel,  # noqa: F811
                                                                         plan):
    plan.price_stars = 120
    plan.save()
    make_panel(marzban, plans=[plan])
    user = new_user()
    customer = start(bot, user, balance=50_000)  # short of 149,000
    bot.press(user, f"buy:p:{plan.pk}")
    bot.press(user, f"buy:q:{plan.pk}:1")
    bot.press(user, button(fake_telegram, user.id, "buy:ok:"))
    assert "short by 99,000" in fake_telegram.last_text(user.id).replace("٬", ",")
    bot.press(user, button(fake_telegram, user.id, "bpm:stars:"))

    invoice = fake_telegram.last_invoice(user.id)
    assert invoice["currency"] == "XTR" and invoice["total_amount"] == 120  # the plan's own Stars price
    payment = Payment.objects.get(customer=customer)
    assert payment.purpose == "order" and payment.status == "pending" and payment.provider_amount == 120
    assert "120 XTR" in fake_telegram.last_text(user.id)

    paid = pay_with_stars(bot, user, invoice)

    payment.refresh_from_db()
    assert payment.status == "paid" and payment.provider_payment_id == paid["telegram_payment_charge_id"]
    order = Order.objects.get(customer=customer)
    assert order.status == "paid" and payment.order_id == order.pk and order.paid_amount == 149_000
    customer.refresh_from_db()
    assert customer.balance_amount == 50_000  # credited 149,000, then paid the order with it
    assert PanelAccount.objects.get(subscription__order=order).status == "active"
    assert len(marzban.users()) == 1
    texts = fake_telegram.sent_texts(user.id)
    assert any("received by Telegram Stars" in t and f"Order #{order.pk}" in t for t in texts)
    link = Subscription.objects.get(order=order).config
    assert link and any(link in t for t in texts)  # the account's link was delivered
    no_failed_updates()


@pytest.mark.django_db
def test_pre_checkout_is_answered_on_the_webhook_itself_before_any_processing(bot, fake_telegram, customer, settings):
    """Telegram waits 10 s for the answer: it is sent while the webhook request is handled,
    not by the worker (here the worker never runs: the queue is not drained)."""
    user = TelegramUser(customer.telegram_id)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    invoice = fake_telegram.last_invoice(customer.telegram_id)
    update = pre_checkout_update(fake_telegram, user, invoice)
    response = bot.client.post("/telegram/webhook/", data=__import__("json").dumps(update),
                               content_type="application/json",
                               HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=settings.TELEGRAM_WEBHOOK_SECRET)
    assert response.status_code == 200
    assert fake_telegram.pre_checkout_answers[update["pre_checkout_query"]["id"]] == {"ok": True, "error_message": ""}
    assert TelegramUpdate.objects.filter(update_id=update["update_id"]).exists()  # still stored
    payment.refresh_from_db()
    assert payment.status == "pending"  # a "yes" to the question moves no money


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["wrong_amount", "cancelled", "someone_else", "unknown", "plan_gone"])
def test_pre_checkout_says_no_with_a_reason(case, bot, fake_telegram, customer, plan):
    purchase = Purchase(plan_id=plan.pk, quantity=1, expected_total=plan.price_amount) if case == "plan_gone" else None
    payment = services.payment_start(provider_key="stars", customer=customer, amount=plan.price_amount,
                                     purchase=purchase)
    invoice = dict(fake_telegram.last_invoice(customer.telegram_id))
    user = TelegramUser(customer.telegram_id)
    kwargs = {}
    if case == "wrong_amount":
        kwargs["total_amount"] = invoice["total_amount"] - 1
    elif case == "cancelled":
        services.payment_cancel(payment_id=payment.pk, customer_id=customer.pk)
    elif case == "someone_else":
        user = TelegramUser(customer.telegram_id + 1)
    elif case == "unknown":
        invoice["payload"] = "pay:999999999"
    elif case == "plan_gone":
        plan.is_active = False
        plan.save()
    bot.post(pre_checkout_update(fake_telegram, user, invoice, **kwargs))
    answer = list(fake_telegram.pre_checkout_answers.values())[-1]
    assert answer["ok"] is False and answer["error_message"]
    assert not WalletTransaction.objects.filter(customer=customer).exists()


@pytest.mark.django_db
def test_the_same_successful_payment_twice_credits_once(bot, fake_telegram, customer):
    user = TelegramUser(customer.telegram_id)
    services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    invoice = fake_telegram.last_invoice(customer.telegram_id)
    paid = pay_with_stars(bot, user, invoice)
    bot.post(successful_payment_update(user, paid))  # Telegram redelivers under another update id
    customer.refresh_from_db()
    assert customer.balance_amount == 100_000
    assert WalletTransaction.objects.filter(customer=customer, reason="topup").count() == 1
    assert sum("received by Telegram Stars" in t for t in fake_telegram.sent_texts(customer.telegram_id)) == 1


@pytest.mark.django_db
def test_a_successful_payment_of_another_amount_is_held_for_an_admin(bot, fake_telegram, customer, settings):
    settings.ADMIN_TELEGRAM_IDS = [9001]
    user = TelegramUser(customer.telegram_id)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    invoice = fake_telegram.last_invoice(customer.telegram_id)
    paid = fake_telegram.pay_invoice(user_id=user.id, invoice=invoice, total_amount=invoice["total_amount"] - 10)
    bot.post(successful_payment_update(user, paid))
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == "held" and customer.balance_amount == 0
    assert any("is held" in t for t in fake_telegram.sent_texts(9001))
    services.payment_credit_held(payment_id=payment.pk, by="admin:boss", reason="checked in Telegram")
    customer.refresh_from_db()
    assert customer.balance_amount == 100_000
    with pytest.raises(services.PaymentsError):
        services.payment_credit_held(payment_id=payment.pk, by="admin:boss", reason="again")


@pytest.mark.django_db
def test_a_successful_payment_for_an_invoice_we_never_sent_changes_nothing(bot, fake_telegram, customer):
    user = TelegramUser(customer.telegram_id)
    forged = {"currency": "XTR", "total_amount": 5000, "invoice_payload": "pay:424242",
              "telegram_payment_charge_id": "forged", "provider_payment_charge_id": ""}
    bot.post(successful_payment_update(user, forged))
    customer.refresh_from_db()
    assert customer.balance_amount == 0 and not Payment.objects.exists()


@pytest.mark.django_db
def test_stars_taken_for_an_invoice_the_shop_cannot_match_are_told_to_the_admins_once(bot, fake_telegram, customer,
                                                                                     settings):
    settings.ADMIN_TELEGRAM_IDS = [9001]
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    invoice = fake_telegram.last_invoice(customer.telegram_id)
    stranger = TelegramUser(customer.telegram_id + 7)  # someone else's successful_payment for this invoice
    paid = fake_telegram.pay_invoice(user_id=stranger.id, invoice=invoice)
    bot.post(successful_payment_update(stranger, paid))
    bot.post(successful_payment_update(stranger, paid))  # redelivered
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == "pending" and customer.balance_amount == 0
    alerts = [t for t in fake_telegram.sent_texts(9001) if paid["telegram_payment_charge_id"] in t]
    assert len(alerts) == 1 and str(stranger.id) in alerts[0]


@pytest.mark.django_db
def test_a_lost_successful_payment_is_found_by_the_reconciliation(fake_telegram, customer, settings):
    from datetime import timedelta

    from django.utils import timezone

    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    invoice = fake_telegram.last_invoice(customer.telegram_id)
    paid = fake_telegram.pay_invoice(user_id=customer.telegram_id, invoice=invoice)  # the update never arrives
    later = timezone.now() + timedelta(minutes=settings.PAYMENTS_CHECK_AFTER_MINUTES + 1)
    result = services.payments_reconcile(now=later)
    assert result.credited == 1
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == "paid" and payment.provider_payment_id == paid["telegram_payment_charge_id"]
    assert customer.balance_amount == 100_000
    assert services.payments_reconcile(now=later).checked == 0  # nothing pending any more


@pytest.mark.django_db
def test_an_abandoned_invoice_expires(fake_telegram, customer, settings):
    from datetime import timedelta

    from django.utils import timezone

    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    result = services.payments_reconcile(now=timezone.now() + timedelta(hours=settings.PAYMENTS_EXPIRE_HOURS + 1))
    payment.refresh_from_db()
    assert result.expired == 1 and payment.status == "expired"


@pytest.mark.django_db
def test_refunding_the_order_gives_the_stars_back_and_unwinds_wallet_and_order(bot, fake_telegram, customer, plan,
                                                                              django_capture_on_commit_callbacks):
    user = TelegramUser(customer.telegram_id)
    purchase = Purchase(plan_id=plan.pk, quantity=1, expected_total=plan.price_amount)
    with django_capture_on_commit_callbacks(execute=True):
        payment = services.payment_start(provider_key="stars", customer=customer, amount=plan.price_amount,
                                         purchase=purchase)
    paid = pay_with_stars(bot, user, fake_telegram.last_invoice(customer.telegram_id))
    payment.refresh_from_db()
    order = Order.objects.get(pk=payment.order_id)

    with django_capture_on_commit_callbacks(execute=True):  # the shop's own refund flow (admin, API, bot)
        shop_services.order_refund(order_id=order.pk, mode="full", reason="customer asked", by="admin:boss")

    payment.refresh_from_db()
    order.refresh_from_db()
    customer.refresh_from_db()
    assert order.status == "refunded"
    assert Subscription.objects.get(order=order).status == "cancelled"
    assert payment.status == "refunded"
    assert paid["telegram_payment_charge_id"] in fake_telegram.refunded_charges
    assert customer.balance_amount == 0  # +149,000 (Stars) -149,000 (order) +149,000 (refund) -149,000 (back to Stars)
    assert [c.params["telegram_payment_charge_id"] for c in fake_telegram.calls_to("refundStarPayment")] == [
        paid["telegram_payment_charge_id"]]


@pytest.mark.django_db
def test_refunding_the_payment_refunds_the_order_first_and_a_lost_answer_is_not_a_second_refund(
        bot, fake_telegram, customer, plan, django_capture_on_commit_callbacks):
    user = TelegramUser(customer.telegram_id)
    purchase = Purchase(plan_id=plan.pk, quantity=1, expected_total=plan.price_amount)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=plan.price_amount,
                                     purchase=purchase)
    paid = pay_with_stars(bot, user, fake_telegram.last_invoice(customer.telegram_id))
    fake_telegram.refunded_charges.add(paid["telegram_payment_charge_id"])  # an earlier try did it, its answer lost
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_refund(payment_id=payment.pk, by="admin:boss", reason="duplicate purchase")
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == "refunded" and Order.objects.get(pk=payment.order_id).status == "refunded"
    assert customer.balance_amount == 0
    assert WalletTransaction.objects.filter(customer=customer, source=f"pay-refund:{payment.pk}").count() == 1


@pytest.mark.django_db
def test_a_top_up_whose_money_was_spent_is_not_refunded_and_nothing_moves(bot, fake_telegram, customer, plan):
    user = TelegramUser(customer.telegram_id)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=plan.price_amount)
    pay_with_stars(bot, user, fake_telegram.last_invoice(customer.telegram_id))
    shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="spend")
    with pytest.raises(services.PaymentsError, match="wallet"):
        services.payment_refund(payment_id=payment.pk, by="admin:boss", reason="asked")
    payment.refresh_from_db()
    assert payment.status == "paid" and not fake_telegram.calls_to("refundStarPayment")


@pytest.mark.django_db
def test_telegram_refusing_the_refund_rolls_the_debit_back(bot, fake_telegram, customer):
    user = TelegramUser(customer.telegram_id)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    pay_with_stars(bot, user, fake_telegram.last_invoice(customer.telegram_id))
    fake_telegram.fail_next("refundStarPayment", status=400, description="Bad Request: CHARGE_NOT_FOUND")
    with pytest.raises(services.PaymentsError, match="refused"):
        services.payment_refund(payment_id=payment.pk, by="admin:boss", reason="asked")
    customer.refresh_from_db()
    payment.refresh_from_db()
    assert customer.balance_amount == 100_000 and payment.status == "paid"


@pytest.mark.django_db
def test_stars_off_is_not_offered_and_cannot_be_started(bot, fake_telegram, settings, customer):
    settings.STARS_ENABLED = False
    user = new_user()
    bot.send(user, "/topup 100000")
    assert not [b for b in fake_telegram.buttons(user.id) if b.get("callback_data", "").startswith("tpm:")]
    with pytest.raises(services.PaymentsError):
        services.payment_start(provider_key="stars", customer=customer, amount=100_000)


@pytest.mark.django_db
def test_topup_offers_card_and_stars_and_a_pending_payment_can_be_cancelled(bot, fake_telegram):
    user = new_user()
    customer = start(bot, user)
    bot.send(user, "/topup 100000")
    datas = [b.get("callback_data") for b in fake_telegram.buttons(user.id)]
    assert datas == ["tpm:card:100000", "tpm:stars:100000"]
    bot.press(user, "tpm:stars:100000")
    assert fake_telegram.last_invoice(user.id)["total_amount"] == 100  # 1 Star per 1,000
    payment = Payment.objects.get(customer=customer)
    bot.press(user, f"pym:x:{payment.pk}")
    payment.refresh_from_db()
    assert payment.status == "cancelled"
    bot.press(user, "tpm:card:100000")
    assert "receipt" in fake_telegram.last_text(user.id)
    no_failed_updates()


@pytest.mark.django_db
def test_a_forged_cancel_of_someone_elses_payment_changes_nothing(bot, fake_telegram, customer):
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    intruder = new_user()
    start(bot, intruder)
    bot.press(intruder, f"pym:x:{payment.pk}")
    payment.refresh_from_db()
    assert payment.status == "pending"


@pytest.mark.django_db
def test_the_invoice_failing_to_send_leaves_a_failed_payment_and_a_clear_answer(bot, fake_telegram, customer):
    fake_telegram.fail_next("sendInvoice", status=400, description="Bad Request: chat not found")
    with pytest.raises(services.PaymentsError, match="could not start"):
        services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    assert Payment.objects.get(customer=customer).status == "failed"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_same_successful_payment_20_times_at_once_credits_once(fake_telegram, settings):
    from tests.factories import CustomerFactory

    customer = CustomerFactory(balance_amount=0)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    invoice = fake_telegram.last_invoice(customer.telegram_id)
    paid = fake_telegram.pay_invoice(user_id=customer.telegram_id, invoice=invoice)
    from payments.services.stars import stars_successful_payment

    def confirm(i):
        if i % 2:  # the message and the reconciliation's poll, racing
            return services.payment_check(payment_id=payment.pk, via="reconciliation").credited
        return stars_successful_payment(telegram_user_id=customer.telegram_id, successful_payment=paid).credited

    results = run_threads(confirm, 20)
    connections.close_all()
    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(results) == 1
    customer.refresh_from_db()
    assert customer.balance_amount == 100_000
    assert WalletTransaction.objects.filter(customer=customer, reason="topup").count() == 1
