"""manage.py panels_sync and panels_expire against the fake panels: what they print, and exit
code 1 when a panel or an account could not be done."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from panels import services
from panels.models import Panel, PanelAccount
from tests.factories import CustomerFactory
from tests.panels.conftest import GB, PASSWORD
from tests.panels.test_lifecycle import _delete, buy
from vpnbot.shop.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_panels(make_panel, marzban, xui, plan, rich_customer, fake_telegram, django_capture_on_commit_callbacks):
    """An account on each panel."""
    mz = make_panel(marzban, name="mz", plans=[plan])
    buy(rich_customer, plan, key="a", capture=django_capture_on_commit_callbacks)
    mz.plans.remove(plan)
    ui = make_panel(xui, name="ui", plans=[plan])
    buy(CustomerFactory.with_balance(1_000_000), plan, key="b", capture=django_capture_on_commit_callbacks)
    assert set(PanelAccount.objects.values_list("panel__name", "status")) == {("mz", "active"), ("ui", "active")}
    return mz, ui


def test_panels_sync_prints_each_panel(two_panels, marzban, capsys):
    mz, ui = two_panels
    account = PanelAccount.objects.get(panel=mz)
    marzban.set_usage(account.name, 4 * GB)
    services.panel_create(name="by-hand", kind="manual")
    call_command("panels_sync")
    out = capsys.readouterr().out
    assert "mz: 1 accounts seen, 1 updated, 0 missing" in out
    assert "ui: 1 accounts seen, 1 updated, 0 missing" in out
    assert "by-hand" not in out
    account.refresh_from_db()
    assert account.used_bytes == 4 * GB


def test_panels_sync_reports_drift_and_a_failed_panel_with_exit_code_1(two_panels, marzban, xui, capsys):
    mz, ui = two_panels
    account = PanelAccount.objects.get(panel=mz)
    _delete(marzban, account.name)
    xui.down = True
    with pytest.raises(CommandError) as failed:
        call_command("panels_sync")
    assert failed.value.returncode == 1
    captured = capsys.readouterr()
    assert "mz: 0 accounts seen, 0 updated, 1 missing, 1 with new differences" in captured.out
    assert f"{account.name}: missing" in captured.out
    assert "ui: FAILED" in captured.err and PASSWORD not in captured.err
    Panel.objects.filter(pk=ui.pk).update(status="disabled")  # a disabled panel is not read: all good again
    call_command("panels_sync")
    assert "mz:" in capsys.readouterr().out


def test_panels_sync_of_one_panel(two_panels, capsys):
    mz, ui = two_panels
    call_command("panels_sync", "--panel", str(ui.pk))
    out = capsys.readouterr().out
    assert out.startswith("ui:") and "mz" not in out
    for bad in ("999999", "0", str(10**20)):
        with pytest.raises(CommandError, match="no panel"):
            call_command("panels_sync", "--panel", bad)
    manual = services.panel_create(name="by-hand", kind="manual")
    with pytest.raises(CommandError, match="manual"):
        call_command("panels_sync", "--panel", str(manual.pk))


def test_panels_sync_with_nothing_to_sync(capsys):
    call_command("panels_sync")
    assert "No panel to sync" in capsys.readouterr().out


def test_panels_expire_prints_what_it_did(two_panels, marzban, xui, capsys):
    mz, ui = two_panels
    call_command("panels_expire")
    assert capsys.readouterr().out.strip() == "disabled: 0, extended: 0, deleted: 0, failed: 0"
    past = timezone.now() - timedelta(minutes=1)
    Subscription.objects.update(expires_at=past)
    PanelAccount.objects.update(expires_at=past)
    xui.down = True
    with pytest.raises(CommandError) as failed:
        call_command("panels_expire")
    assert failed.value.returncode == 1
    captured = capsys.readouterr()
    assert "disabled: 1, extended: 0, deleted: 0, failed: 1" in captured.out
    ui_account = PanelAccount.objects.get(panel=ui)
    assert f"failed: {ui_account.name}" in captured.err
    assert PanelAccount.objects.get(panel=mz).status == "disabled" and ui_account.status == "active"
    xui.down = False
    call_command("panels_expire")
    assert "disabled: 1, extended: 0, deleted: 0, failed: 0" in capsys.readouterr().out
    assert marzban.user(PanelAccount.objects.get(panel=mz).name)["status"] == "disabled"


def test_panels_sync_with_a_secret_from_another_key_says_what_to_do(make_panel, marzban, settings, capsys):
    make_panel(marzban)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(CommandError) as failed:
        call_command("panels_sync")
    assert failed.value.returncode == 1
    assert "set it again" in capsys.readouterr().err
