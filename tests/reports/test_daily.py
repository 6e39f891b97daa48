"""The daily report: yesterday's key figures (Tehran's local days) against the day before's, a
red line when the ledger does not reconcile, each admin in their language (a Persian reader gets
Jalali dates), or one chat when REPORTS_DAILY_CHAT_ID is set; once per day."""

from datetime import date

import pytest
import time_machine
from django.db.models import F
from django.utils import timezone

from notifications.models import Notification
from reports import tasks
from reports.models import ReconciliationRun
from reports.services import daily, day_range, report_financial
from tests.factories import CustomerFactory, PlanFactory
from tests.reports.conftest import buy, top_up
from vpnbot.shop import services as shop
from vpnbot.shop.formatting import money
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db
BEFORE, YESTERDAY, TODAY = date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2)
# noon in Tehran (UTC+03:30) on each day, and the report's morning
NOON = {BEFORE: "2026-02-28 08:30:00+00:00", YESTERDAY: "2026-03-01 08:30:00+00:00"}
MORNING = "2026-03-02 05:30:00+00:00"  # 09:00 in Tehran


@pytest.fixture
def two_days(db):
    """The day before yesterday Alice joins, tops up 200,000 and buys one plan; yesterday Bob
    joins, tops up 300,000 and buys two, one of them refunded. A sale late yesterday in UTC but
    today in Tehran (21:00 UTC = 00:30 local) is not yesterday's."""
    plan = PlanFactory(price_amount=100_000)
    with time_machine.travel(NOON[BEFORE], tick=False):
        alice = CustomerFactory(language="en")
        top_up(alice, 200_000)
        buy(alice, plan)
    with time_machine.travel(NOON[YESTERDAY], tick=False):
        bob = CustomerFactory(language="en")
        top_up(bob, 300_000)
        buy(bob, plan)
        refunded = buy(bob, plan)
        shop.order_refund(order_id=refunded.pk, mode="full", reason="asked", by="admin:test", confirm=True)
    with time_machine.travel("2026-03-01 21:00:00+00:00", tick=False):
        buy(alice, plan)
    return alice, bob


def reports_sent():
    return list(Notification.objects.filter(source="alert:daily_report").order_by("chat_id"))


def test_yesterdays_figures_against_the_day_befores(two_days):
    with time_machine.travel(MORNING, tick=False):
        report = daily.daily_report_send()
    assert report["day"] == YESTERDAY and report["reconciled"] is True
    sent = reports_sent()
    assert [n.chat_id for n in sent] == [9001, 9002]
    text = sent[0].text
    assert "Daily report for 2026-03-01" in text
    assert "Orders: 2 (+1 vs. the day before)" in text
    assert "Gross sales: 200,000 Toman (+100,000 vs. the day before)" in text
    assert "Net sales: 200,000 Toman (+100,000 vs. the day before)" in text
    assert "Discounts: 0 Toman (same as the day before)" in text
    assert "Refunds to wallets: 100,000 Toman (+100,000 vs. the day before)" in text
    assert "Top-ups: 300,000 Toman" in text and "Card receipt: 300,000 Toman (+100,000 vs. the day before)" in text
    assert "New customers: 1 (same as the day before)" in text
    liability = report_financial(day_range(YESTERDAY, YESTERDAY), with_reconciliation=False)["wallet_liability_amount"]
    assert f"Wallets hold (liability): {money(liability)}" in text
    assert "does not reconcile" not in text and "🔴" not in text


def test_once_per_day_and_again_the_next(two_days):
    with time_machine.travel(MORNING, tick=False):
        tasks.send_daily_report.delay()
        tasks.send_daily_report.delay()  # a second beat or a redelivered task
    assert len(reports_sent()) == 2
    with time_machine.travel("2026-03-03 05:30:00+00:00", tick=False):
        report = daily.daily_report_send()
    assert report["day"] == TODAY and len(reports_sent()) == 4
    assert "Orders: 1 (-1 vs. the day before)" in reports_sent()[-1].text  # the sale at 00:30 local


def test_each_admin_reads_it_in_their_language(two_days):
    CustomerFactory(telegram_id=9002, language="fa")
    with time_machine.travel(MORNING, tick=False):
        daily.daily_report_send()
    english, persian = reports_sent()
    assert (english.language, persian.language) == ("en", "fa")
    assert "2026-03-01" in english.text and "1404/12/10" in persian.text  # Jalali for a Persian reader


def test_a_red_line_when_the_ledger_does_not_reconcile(two_days):
    alice, _bob = two_days
    Customer.objects.filter(pk=alice.pk).update(balance_amount=F("balance_amount") + 1)
    with time_machine.travel(MORNING, tick=False):
        report = daily.daily_report_send()  # no run yet: the checks are run now
    assert report["reconciled"] is False and report["problem_count"] == 2
    assert "🔴" in reports_sent()[0].text and "does not reconcile (2 failed checks)" in reports_sent()[0].text


def test_the_nightly_runs_state_is_believed_while_recent(two_days):
    ReconciliationRun.objects.create(ok=True, started_at=timezone.make_aware(timezone.datetime(2026, 3, 1, 3, 30)))
    ReconciliationRun.objects.create(ok=False, problem_count=3, by="nightly",
                                     started_at=timezone.make_aware(timezone.datetime(2026, 3, 2, 3, 30)))
    with time_machine.travel(MORNING, tick=False):
        report = daily.daily_report()
    assert (report["reconciled"], report["problem_count"]) == (False, 3)  # the 03:30 run, not a new check
    ReconciliationRun.objects.update(started_at=timezone.make_aware(timezone.datetime(2026, 2, 27)))
    with time_machine.travel(MORNING, tick=False):
        assert daily.daily_report()["reconciled"] is True  # too old: checked again, and whole


def test_to_the_configured_chat_instead_of_the_admins(two_days, settings):
    settings.REPORTS_DAILY_CHAT_ID = "-1001234567890"
    with time_machine.travel(MORNING, tick=False):
        daily.daily_report_send()
        daily.daily_report_send()
    assert reports_sent() == []
    to_chat = list(Notification.objects.filter(chat_id=-1001234567890))
    assert len(to_chat) == 1 and "Orders: 2 (+1 vs. the day before)" in to_chat[0].text


def test_without_the_outbox_it_goes_straight_to_telegram(two_days, direct_messages, fake_telegram,
                                                         django_capture_on_commit_callbacks):
    with time_machine.travel(MORNING, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            daily.daily_report_send()
            daily.daily_report_send()
    assert len(fake_telegram.sent_texts(9001)) == 1
    assert "Daily report for 2026-03-01" in fake_telegram.last_text(9001)
    assert "Orders: 2 (+1 vs. the day before)" in fake_telegram.last_text(9001)


def test_the_daily_time_and_chat_settings_are_read_safely(settings):
    settings.REPORTS_DAILY_AT = "07:05"
    assert daily.daily_at() == (7, 5)
    for bad in ("7", "24:00", "ab:cd", ""):
        settings.REPORTS_DAILY_AT = bad
        assert daily.daily_at() == (9, 0)
    settings.REPORTS_DAILY_CHAT_ID = "@channel"
    assert daily.daily_chat_id() is None
    settings.REPORTS_DAILY_CHAT_ID = " -100 "
    assert daily.daily_chat_id() == -100
