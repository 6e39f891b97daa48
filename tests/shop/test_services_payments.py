"""Top-ups by receipt (services.payments, tasks.send_payment_review): a new receipt reaches every
admin once, through retries, whatever Telegram answers; approved once, rejected with a reason."""

import logging

import pytest

from tests.conftest import TelegramUser, run_threads
from tests.factories import CustomerFactory, PaymentFactory
from tests.shop.conftest import ledger_sum
from vpnbot.shop import services, tasks
from vpnbot.shop.models import Customer, Payment
from vpnbot.transport.models import TelegramUpdate
from vpnbot.transport.sender import Sender

pytestmark = pytest.mark.django_db
ADMINS = (9001, 9002)


def submit_receipt(bot, user_id: int, *, first_name="Sara", username="sara") -> Payment:
    user = TelegramUser(user_id, first_name=first_name, username=username, language_code="en")
    bot.send(user, "/topup")
    bot.send(user, "200000")
    bot.photo(user)
    assert "being reviewed" in bot.fake.last_text(user.id)  # the customer is thanked whatever happened
    assert not TelegramUpdate.objects.filter(status="failed").exists()
    return Payment.objects.get(customer__telegram_id=user_id)


def photos_to(fake, chat_id):
    return [c for c in fake.calls_to("sendPhoto", chat_id) if c.params.get("reply_markup")]


def assert_each_admin_got_it_once(fake, payment):
    for admin in ADMINS:
        assert [c for c in photos_to(fake, admin) if "200,000" in c.text], f"admin {admin} never got the receipt"
    payment.refresh_from_db()
    assert sorted(pair[0] for pair in payment.admin_messages) == list(ADMINS)


@pytest.mark.parametrize("failure", [
    {"status": 429, "retry_after": 60},  # longer than the sender waits inline: RetryLater
    {"status": 500, "description": "Internal Server Error"},
    {"status": 502, "description": "Bad Gateway", "times": 3},
])
def test_a_receipt_reaches_the_admins_after_a_transient_failure(bot, fake_telegram, failure):
    fake_telegram.fail_next("sendPhoto", **failure)
    payment = submit_receipt(bot, 7300001)
    assert_each_admin_got_it_once(fake_telegram, payment)
    # each admin's copy delivered exactly once: the failed attempts plus one delivery per admin
    assert len(fake_telegram.calls_to("sendPhoto")) == failure.get("times", 1) + len(ADMINS)


def test_the_review_buttons_work_on_a_retried_copy(bot, fake_telegram, tg_admin):
    fake_telegram.fail_next("sendPhoto", status=429, retry_after=60)
    payment = submit_receipt(bot, 7300002)
    assert {b["callback_data"] for b in fake_telegram.buttons(9001)} == {f"pay:ok:{payment.pk}", f"pay:no:{payment.pk}"}
    bot.press(tg_admin, f"pay:ok:{payment.pk}")
    assert Payment.objects.get(pk=payment.pk).status == "approved"
    assert len(fake_telegram.calls_to("editMessageCaption")) == len(ADMINS)


def test_an_admin_who_blocked_the_bot_does_not_stop_the_others(bot, fake_telegram):
    fake_telegram.block(9001)
    payment = submit_receipt(bot, 7300003)
    assert len(fake_telegram.calls_to("sendPhoto", 9001)) == 1  # not retried: it cannot succeed
    assert [c.chat_id for c in photos_to(fake_telegram, 9002)] == [9002]
    payment.refresh_from_db()
    assert [pair[0] for pair in payment.admin_messages] == [9002]


def test_retries_are_bounded_and_never_fail_the_update(bot, fake_telegram, caplog, settings):
    fake_telegram.fail_next("sendPhoto", status=500, times=100)
    with caplog.at_level(logging.ERROR, logger="vpnbot.shop.tasks"):
        payment = submit_receipt(bot, 7300004)
    # each task attempt is one send with the sender's own retries of a 5xx
    attempts = (tasks.REVIEW_MAX_RETRIES + 1) * (1 + settings.TELEGRAM_MAX_RETRIES) * len(ADMINS)
    assert len(fake_telegram.calls_to("sendPhoto")) == attempts
    assert "not sent to admin" in caplog.text
    payment.refresh_from_db()
    assert payment.status == "pending" and payment.admin_messages == []


def test_a_refused_request_is_not_retried(bot, fake_telegram):
    fake_telegram.fail_next("sendPhoto", status=400, description="Bad Request: wrong file identifier")
    submit_receipt(bot, 7300005)
    assert len(fake_telegram.calls_to("sendPhoto")) == 1 + 1  # the refused one, then the other admin's


def test_a_customer_name_that_looks_like_html_does_not_lose_the_receipt(bot, fake_telegram):
    payment = submit_receipt(bot, 7300006, first_name="<b>Ali & co", username=None)
    assert_each_admin_got_it_once(fake_telegram, payment)
    assert "&lt;b&gt;Ali &amp; co" in photos_to(fake_telegram, 9001)[0].text  # escaped for parse_mode=HTML


def test_a_retry_does_not_send_the_receipt_twice():
    payment = PaymentFactory(customer=CustomerFactory(language="en"))
    payment.admin_messages = [[9001, 55]]
    payment.save()
    assert services.payment_review_send(payment_id=payment.pk, chat_id=9001) is False


def test_sending_is_idempotent_per_admin(fake_telegram):
    payment = PaymentFactory(customer=CustomerFactory(language="en"))
    tasks.send_payment_review.delay(payment.pk, 9001)
    tasks.send_payment_review.delay(payment.pk, 9001)  # a redelivered or duplicated task
    tasks.send_payment_review.delay(payment.pk, 9002)
    assert len(fake_telegram.calls_to("sendPhoto", 9001)) == 1
    assert len(fake_telegram.calls_to("sendPhoto", 9002)) == 1
    payment.refresh_from_db()
    assert [pair[0] for pair in payment.admin_messages] == [9001, 9002]


def test_a_decided_payment_is_not_sent_any_more(fake_telegram):
    payment = PaymentFactory(customer=CustomerFactory(language="en"), status=Payment.Status.APPROVED)
    tasks.send_payment_review.delay(payment.pk, 9001)
    assert fake_telegram.calls_to("sendPhoto") == []


def test_a_copy_sent_while_the_payment_was_decided_loses_its_buttons(fake_telegram, monkeypatch,
                                                                    django_capture_on_commit_callbacks):
    payment = PaymentFactory(customer=CustomerFactory(language="en"))
    original = Sender.send_photo

    def decided_meanwhile(self, *args, **kwargs):
        message = original(self, *args, **kwargs)
        services.payment_approve(payment_id=payment.pk, reviewer="other admin")
        return message

    monkeypatch.setattr(Sender, "send_photo", decided_meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_payment_review.delay(payment.pk, 9002)
    cleared = fake_telegram.calls_to("editMessageReplyMarkup", 9002)
    assert len(cleared) == 1 and cleared[0].params["reply_markup"] == {"inline_keyboard": []}


@pytest.mark.django_db
class TestPayments:
    def test_approve_credits_once_and_reject_needs_a_reason(self):
        payment = PaymentFactory(amount=250_000)
        assert services.payment_approve(payment_id=payment.pk, reviewer="a").changed
        assert not services.payment_approve(payment_id=payment.pk, reviewer="b").changed
        assert not services.payment_reject(payment_id=payment.pk, reviewer="b", reason="late").changed
        customer = Customer.objects.get(pk=payment.customer_id)
        assert customer.balance_amount == 250_000 == ledger_sum(customer)
        other = PaymentFactory()
        with pytest.raises(services.ShopError):
            services.payment_reject(payment_id=other.pk, reviewer="a", reason="  ")
        assert Payment.objects.get(pk=other.pk).status == "pending"
    @pytest.mark.parametrize("text", ["abc", "-5000", "0", "10", "99999999999999999999", "12.5", "", "1e6",
                                      "²⁰⁰⁰⁰⁰", "100000²", "१००००००"])
    def test_bad_topup_amounts(self, text):
        with pytest.raises(services.ShopError):
            services.topup_parse_amount(text)
    def test_persian_digits_and_separators(self):
        assert services.topup_parse_amount("۲۰۰٬۰۰۰") == 200_000
        assert services.topup_parse_amount("150,000") == 150_000


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_credit_once():
    payment = PaymentFactory(amount=200_000)
    results = run_threads(lambda i: services.payment_approve(payment_id=payment.pk, reviewer=f"admin{i}"), 2)
    assert sorted(r.changed for r in results) == [False, True]
    customer = Customer.objects.get(pk=payment.customer_id)
    assert customer.balance_amount == 200_000 == ledger_sum(customer)
