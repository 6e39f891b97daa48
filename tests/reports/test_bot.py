"""/financial_report end to end: an update POSTed to the webhook, the chart and the figures read
from what the fake Bot API received; the figures are the reports' services' own."""

from datetime import datetime

import pytest
import time_machine
from django.db.models import F
from django.utils import translation

from reports.handlers import CAPTION_LIMIT
from reports.services import period_parse, report_financial
from reports.services.periods import shop_zone
from tests.conftest import TelegramUser
from tests.reports.shop_data import a_day_of_trade
from vpnbot.shop.formatting import money
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n"


def report_of(fake, chat_id):
    """The photo (its caption and file) and the text message after it."""
    calls = [c for c in fake.calls_to(None, chat_id) if c.method in ("sendPhoto", "sendMessage")]
    assert [c.method for c in calls] == ["sendPhoto", "sendMessage"], [c.method for c in calls]
    return calls[0], calls[1].text


def test_an_admin_gets_the_chart_and_the_figures_the_services_count(bot, tg_admin, fake_telegram):
    a_day_of_trade()
    bot.send(tg_admin, "/financial_report today")
    photo, details = report_of(fake_telegram, tg_admin.id)
    filename, content = photo.files["photo"]
    assert content.startswith(PNG) and len(content) > 5_000
    caption = photo.params["caption"]
    assert len(caption) <= CAPTION_LIMIT
    report = report_financial(period_parse("today"))
    assert (report["net_amount"], report["orders"], report["new_customers"]) == (350_000, 3, 3)  # as the service counts
    for line in (f"📊 Financial report: {report['label']}", "Net sales: 350,000 Toman", "Orders: 3 · average 116,666 Toman",
                 "List price: 350,000 Toman · discounts −0 Toman", "Top-ups: 300,000 Toman (1)",
                 "Refunds: 100,000 Toman", "New customers: 3"):  # the two customers, and the admin who asked
        assert line in caption.splitlines(), (line, caption)
    lines = details.splitlines()
    for line in ("Discounts by kind:", "• none", "Refunds to wallets: 100,000 Toman",
                 "Refunds to payment providers: 0 Toman", "Referral rewards: 0 Toman", "Top-ups by method:",
                 "• Card receipt: 300,000 Toman",
                 f"Wallet liability at the end: {money(report['wallet_liability_amount'])}",
                 "Buyers: 2 (new 2, returning 0)", "✅ The period's ledger rows reconcile."):
        assert line in lines, (line, details)
    paid, reversed_ = money(report["cashback_paid_amount"]), money(report["cashback_reversed_amount"])
    assert f"Cashback paid: {paid} · reversed: {reversed_} · pending at the end: 0 Toman" in lines
    assert report["wallet_liability_amount"] == sum(Customer.objects.values_list("balance_amount", flat=True))


def test_a_ledger_that_does_not_reconcile_is_flagged_with_its_count(bot, tg_admin, fake_telegram):
    trade = a_day_of_trade()
    Customer.objects.filter(pk=trade.buyer.pk).update(balance_amount=F("balance_amount") + 1)  # edited by hand
    bot.send(tg_admin, "/financial_report")
    _photo, details = report_of(fake_telegram, tg_admin.id)
    problems = report_financial(period_parse("today"))["reconciliation"]["problems"]
    assert len(problems) == 2  # the totals and the one balance
    assert f"⚠️ The ledger does not reconcile: {len(problems)} problems." in details
    assert "• wallet balances that differ from the sum of their ledger (1)" in details
    assert "✅" not in details


def test_a_big_period_carries_the_latest_full_run_not_a_check_while_the_admin_waits(bot, tg_admin, fake_telegram,
                                                                                    settings):
    """Over REPORTS_LIVE_RECONCILE_ROWS ledger rows the period's own checks would read every row
    (minutes on a big shop): the report then says what the latest full run found, and when."""
    from reports.services.runs import reconciliation_run

    trade = a_day_of_trade()
    run = reconciliation_run(by="nightly")  # whole at the time
    assert run.ok
    Customer.objects.filter(pk=trade.buyer.pk).update(balance_amount=F("balance_amount") + 1)  # broken since
    settings.REPORTS_LIVE_RECONCILE_ROWS = 3  # the day has more rows than that
    result = report_financial(period_parse("today"))["reconciliation"]
    assert (result["ok"], result["scope"], result["problems"]) == (True, "all", [])
    assert result["checked_at"] == run.started_at.isoformat()
    bot.send(tg_admin, "/financial_report")
    _photo, details = report_of(fake_telegram, tg_admin.id)
    assert "The latest full reconciliation, " in details and "✅ The whole ledger reconciles." in details
    settings.REPORTS_LIVE_RECONCILE_ROWS = 10_000  # a small period: checked now, the edit is found
    assert not report_financial(period_parse("today"))["reconciliation"]["ok"]


def test_a_customer_is_refused_and_sees_nothing_else(bot, fake_telegram):
    tg_user = TelegramUser(7_700_001, language_code="en")
    a_day_of_trade()
    bot.send(tg_user, "/financial_report month")
    calls = fake_telegram.calls_to(None, tg_user.id)
    assert [c.method for c in calls] == ["sendMessage"]
    assert "Sorry, this command is for the shop's admins." in calls[0].text
    assert "Toman" not in calls[0].text
    assert not fake_telegram.calls_to("sendPhoto")


@pytest.mark.parametrize(("text", "says"), [
    ("2026-13", "The month must be 1 to 12."),
    ("fortnight", "Give one period: today, yesterday, week, month, 7d, YYYY-MM, or two dates FROM TO."),
    ("2026-11-20 2026-11-01", "The end date is before the start date."),
    ("yesterday tomorrow", "Write a date as YYYY-MM-DD (a year below 1700 is Jalali): yesterday."),
    ("2026-02-30 2026-03-01", "There is no such date: 2026-02-30."),
    ("today week month", "Give one period"),
])
def test_a_period_that_cannot_be_read_gets_a_clear_answer(bot, tg_admin, fake_telegram, text, says):
    bot.send(tg_admin, f"/financial_report {text}")
    calls = fake_telegram.calls_to(None, tg_admin.id)
    assert [c.method for c in calls] == ["sendMessage"]
    assert says in calls[0].text
    assert "Usage: /financial_report [today|week|month|YYYY-MM|FROM TO]" in calls[0].text


@pytest.mark.parametrize("text", ["week", "month", "2026-11", "2026-01-01 2026-11-30"])
def test_every_shape_of_period_sends_a_chart(bot, tg_admin, fake_telegram, text):
    bot.send(tg_admin, f"/financial_report {text}")
    photo, details = report_of(fake_telegram, tg_admin.id)
    assert photo.files["photo"][1].startswith(PNG)
    assert period_parse(text).label in photo.params["caption"] and "Top-ups by method:" in details


def test_a_persian_admin_names_a_jalali_month(bot, fake_telegram, settings):
    """1405-09 (Azar) is 2026-11-22 to 2026-12-21: the trade of 1 December is in it, the one of
    15 November (Aban) is not."""
    persian_admin = TelegramUser(9002, first_name="مدیر", username="modir", language_code="fa")
    with time_machine.travel(datetime(2026, 11, 15, 12, tzinfo=shop_zone())):
        a_day_of_trade("aban")
    with time_machine.travel(datetime(2026, 12, 1, 12, tzinfo=shop_zone())):
        a_day_of_trade("azar")
    with time_machine.travel(datetime(2026, 12, 5, 12, tzinfo=shop_zone())):
        bot.send(persian_admin, "/financial_report ۱۴۰۵-۰۹")
        photo, details = report_of(fake_telegram, persian_admin.id)
        azar = period_parse("1405-09")
        report = report_financial(azar)
    assert (azar.first_day.isoformat(), azar.last_day.isoformat()) == ("2026-11-22", "2026-12-21")
    assert report["orders"] == 3 and report["net_amount"] == 350_000
    caption = photo.params["caption"]
    assert "1405/09/01 – 1405/09/30" in caption
    with translation.override("fa"):
        assert money(350_000) in caption and money(300_000) in caption  # the Azar trade only
        assert money(700_000) not in caption
    assert "1405/09/01 – 1405/09/30" in details


def test_switched_off_the_command_says_so_and_sends_no_figures(bot, tg_admin, fake_telegram, settings):
    a_day_of_trade()
    settings.ENABLE_REPORTS = False
    bot.send(tg_admin, "/financial_report")
    calls = [c for c in fake_telegram.calls_to(None, tg_admin.id) if c.method in ("sendPhoto", "sendMessage")]
    assert [c.method for c in calls] == ["sendMessage"]
    assert calls[0].text == "This feature is switched off."
