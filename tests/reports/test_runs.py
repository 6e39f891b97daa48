"""The reconciliation as a recorded run: manage.py reconcile's exit status and report, the
nightly job's alerts (once when the ledger breaks, once when it is whole again), its lock, the
runs in the admin, and the beat schedules."""

import importlib
import json
import sys
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.utils import timezone

from notifications.models import Notification
from reports import tasks
from reports.models import ReconciliationRun, ReportsLock
from reports.services import runs
from tests.conftest import run_threads
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db
ADMINS = (9001, 9002)


def manage(*args) -> int:
    """manage.py reconcile's exit status: BaseCommand.run_from_argv exits with a CommandError's
    returncode (it is not called itself: it closes every database connection, the test's too)."""
    try:
        call_command("reconcile", *args)
    except CommandError as exc:
        sys.stderr.write(f"CommandError: {exc}\n")
        return exc.returncode
    return 0


def plant(customer, amount=999):
    """A balance edited by hand, past the ledger."""
    Customer.objects.filter(pk=customer.pk).update(balance_amount=F("balance_amount") + amount)


def alerts():
    return list(Notification.objects.filter(source="alert:reconciliation").order_by("pk"))


def test_the_command_exits_0_when_whole_and_1_with_the_problems(shop, capsys):
    assert manage() == 0
    out = capsys.readouterr().out
    assert "The ledger reconciles" in out and "360,000" in out
    plant(shop.alice)
    assert manage() == 1
    captured = capsys.readouterr()
    assert "[balance]" in captured.out and "[totals]" in captured.out
    assert f"pk={shop.alice.pk}" in captured.out and "The ledger does not reconcile" in captured.err
    assert list(ReconciliationRun.objects.values_list("ok", "by")) == [(False, "command"), (True, "command")]
    assert manage("--json", "--no-record") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and {p["check"] for p in data["problems"]} == {"totals", "balance"}
    assert ReconciliationRun.objects.count() == 2  # --no-record kept nothing


def test_the_command_checks_one_period_or_refuses_half_a_one(shop, capsys):
    today = timezone.localdate().isoformat()
    assert manage("--from", today, "--to", today) == 0
    assert manage("--from", today) == 2
    assert manage("--from", "2026-02-30", "--to", today) == 2
    assert ReconciliationRun.objects.count() == 0  # a period's check is not a run


def test_the_nightly_run_alerts_once_when_broken_and_once_when_whole(shop):
    tasks.reconcile_nightly.delay()
    assert alerts() == [] and ReconciliationRun.objects.get().by == "nightly"
    plant(shop.bob, 5_000)
    tasks.reconcile_nightly.delay()
    broken = alerts()
    assert sorted(n.chat_id for n in broken) == list(ADMINS)
    assert "does not reconcile: 2 checks failed" in broken[0].text and f"(ids {shop.bob.pk})" in broken[0].text
    tasks.reconcile_nightly.delay()
    tasks.reconcile_nightly.delay()
    assert len(alerts()) == 2  # still broken: nobody is told again
    plant(shop.bob, -5_000)
    tasks.reconcile_nightly.delay()
    whole = alerts()[2:]
    assert sorted(n.chat_id for n in whole) == list(ADMINS) and "reconciles again" in whole[0].text
    tasks.reconcile_nightly.delay()
    assert len(alerts()) == 4
    plant(shop.bob, 1)  # broken again later: a new alert
    tasks.reconcile_nightly.delay()
    assert len(alerts()) == 6
    assert list(ReconciliationRun.objects.order_by("pk").values_list("ok", flat=True)) == [
        True, False, False, False, True, True, False]


def test_a_first_run_that_finds_a_problem_alerts(shop):
    plant(shop.alice)
    run = runs.reconciliation_run(by="nightly")
    assert run.ok is False and run.problem_count == 2 and run.problems[0]["check"] == "totals"
    assert len(alerts()) == 2


def test_the_job_does_nothing_when_reports_are_off(shop, settings):
    settings.ENABLE_REPORTS = False
    tasks.reconcile_nightly.delay()
    assert ReconciliationRun.objects.count() == 0


def test_a_run_holding_the_lock_makes_another_skip(shop):
    now = timezone.now()
    ReportsLock.objects.create(name="reconcile", holder="nightly", acquired_at=now, expires_at=now + timedelta(hours=1))
    plant(shop.alice)
    assert runs.reconciliation_run(by="nightly") is None
    assert ReconciliationRun.objects.count() == 0 and alerts() == []
    ReportsLock.objects.filter(name="reconcile").update(expires_at=now - timedelta(seconds=1))  # its holder died
    assert runs.reconciliation_run(by="nightly").ok is False
    assert not ReportsLock.objects.exists()  # released after the run


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_alert_once():
    from tests.reports.conftest import make_shop

    shop = make_shop()
    plant(shop.alice)
    results = run_threads(lambda i: runs.reconciliation_run(by=f"nightly-{i}"), 4)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert ReconciliationRun.objects.count() == len([r for r in results if r is not None]) >= 1
    assert sorted(n.chat_id for n in alerts()) == list(ADMINS)
    assert not ReportsLock.objects.exists()


def test_the_runs_are_read_only_in_the_admin(shop, admin_client):
    plant(shop.alice, 7)
    run = runs.reconciliation_run(by="command")
    listing = admin_client.get("/admin/reports/reconciliationrun/").content.decode()
    assert "command" in listing
    page = admin_client.get(f"/admin/reports/reconciliationrun/{run.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "wallet balances that differ from the sum of their ledger" in text and f"pk={shop.alice.pk}" in text
    assert admin_client.get("/admin/reports/reconciliationrun/add/").status_code == 403
    assert 'name="_save"' not in text


def test_the_beat_schedules_follow_reports_daily_at(db, settings):
    from django_celery_beat.models import PeriodicTask

    from reports import schedules
    from vpnbot.core.schedules import ensure_schedules

    try:
        settings.REPORTS_DAILY_AT = "21:45"
        importlib.reload(schedules)
        PeriodicTask.objects.filter(name__startswith="reports:").delete()
        ensure_schedules()
        nightly = PeriodicTask.objects.get(task="reports.tasks.reconcile_nightly").crontab
        rollup = PeriodicTask.objects.get(task="reports.tasks.rollup_days").crontab
        daily = PeriodicTask.objects.get(task="reports.tasks.send_daily_report").crontab
        assert (nightly.hour, nightly.minute) == ("3", "30")
        assert (rollup.hour, rollup.minute) == ("3", "10")  # the days are kept before they are reconciled
        assert (daily.hour, daily.minute, str(daily.timezone)) == ("21", "45", settings.TIME_ZONE)
        settings.REPORTS_DAILY_AT = "25:00"
        daily_job = [job for job in importlib.reload(schedules).SCHEDULES if job["task"].endswith("send_daily_report")]
        assert daily_job[0]["crontab"] == {"minute": "0", "hour": "9"}
    finally:
        settings.REPORTS_DAILY_AT = "09:00"
        importlib.reload(schedules)
