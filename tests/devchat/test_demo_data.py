"""manage.py demo_data: six months of a shop made through the shop's own services, whose
figures reconcile; never made over customers that exist; --reset starts over, and the same
seed tells the same story."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max, Min, Sum
from django.utils import timezone

from crm.models import Campaign
from discounts.models import CashbackTransaction
from notifications.models import Notification
from vpnbot.shop.models import Customer, Order, Payment, ReferralReward, Subscription, WalletTransaction

pytestmark = pytest.mark.django_db(transaction=True)  # commits, as the command makes them: on_commit work runs


@pytest.fixture(autouse=True)
def _places(settings, tmp_path):
    settings.LOCAL_CHAT_DIR = str(tmp_path / "devchat")
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.VAR_DIR = tmp_path


def make(*args):
    call_command("demo_data", "--customers", "40", *args)


def test_a_lived_in_shop_whose_figures_reconcile(capsys):
    make()
    out = capsys.readouterr().out
    assert "Demo shop made" in out and "Admin: http://127.0.0.1:8000/admin/" in out
    now = timezone.now()
    assert Customer.objects.count() == 40
    joined = Customer.objects.aggregate(first=Min("joined_at"), last=Max("joined_at"))
    assert joined["first"] < now - timedelta(days=90) and joined["last"] <= now
    paid = Order.objects.filter(status=Order.Status.PAID)
    assert paid.count() > 20 and paid.aggregate(first=Min("paid_at"))["first"] < now - timedelta(days=60)
    assert Order.objects.filter(subscription__renewed_from__isnull=False).exists(), "renewals"
    assert Payment.objects.filter(status=Payment.Status.APPROVED).exists()
    assert Payment.objects.filter(status=Payment.Status.REJECTED).exists()
    assert Customer.objects.filter(referred_by__isnull=False).exists() and ReferralReward.objects.exists()
    assert Order.objects.filter(discount_amount__gt=0).exists(), "discounts"
    assert CashbackTransaction.objects.exists(), "cashback"
    assert Campaign.objects.filter(name="Come back: 20 % off").exists()
    assert Notification.objects.exists()
    assert Subscription.objects.exclude(config="").count() == Subscription.objects.count(), "every account has a config"
    # the ledger's times are the story's, and the balances are the ledger's sums
    ledger = WalletTransaction.objects.aggregate(first=Min("created_at"), total=Sum("amount"))
    assert ledger["first"] < now - timedelta(days=60)
    assert ledger["total"] == Customer.objects.aggregate(s=Sum("balance_amount"))["s"]
    call_command("reconcile", "--no-record")  # raises CommandError (exit 1) when anything does not reconcile


def test_a_second_run_refuses_and_reset_starts_over_with_the_same_story(capsys):
    make()
    first = (Customer.objects.count(), Order.objects.count(), Payment.objects.count(),
             WalletTransaction.objects.aggregate(s=Sum("amount"))["s"])
    with pytest.raises(CommandError, match="already has 40 customers"):
        make()
    assert Customer.objects.count() == 40  # nothing added
    make("--if-empty")  # what make run does: says so, and carries on
    assert "no demo data made" in capsys.readouterr().out
    make("--reset")
    again = (Customer.objects.count(), Order.objects.count(), Payment.objects.count(),
             WalletTransaction.objects.aggregate(s=Sum("amount"))["s"])
    assert again == first, "the same seed, the same story"
    call_command("reconcile", "--no-record")


def test_bad_numbers_are_refused():
    with pytest.raises(CommandError, match="between 1 and 5000"):
        call_command("demo_data", "--customers", "0")
    assert not Customer.objects.exists()
