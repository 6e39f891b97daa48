"""manage.py payments_reconcile: what it prints (checked, credited, held, expired, the failed
checks), and its exit code: 1 only when every due check failed, or with --strict when any did."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from payments.models import Payment
from payments.providers import HOLD, PENDING, Confirmation, ProviderError
from tests.payments.ops import stars_payment, use_fake_stars
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_stars():
    fake, restore = use_fake_stars()
    yield fake
    restore()


def pending(customer, *, minutes: int, charge: str) -> Payment:
    return stars_payment(customer, status=Payment.Status.PENDING, charge=charge,
                         created_at=timezone.now() - timedelta(minutes=minutes))


@pytest.fixture
def four(customer, fake_stars):
    """Due for a check: one the provider says is paid, one paid short, one never paid (and old
    enough to expire), one whose provider does not answer; one too recent to check."""
    payments = {"paid": pending(customer, minutes=20, charge="c-paid"),
                "short": pending(customer, minutes=30, charge="c-short"),
                "gone": pending(customer, minutes=25 * 60, charge="c-gone"),
                "down": pending(customer, minutes=40, charge="c-down"),
                "recent": pending(customer, minutes=1, charge="c-recent")}
    answers = {"c-paid": fake_stars.answer,
               "c-short": Confirmation(HOLD, amount=Decimal(30), currency="XTR", detail="partially paid"),
               "c-gone": Confirmation(PENDING, detail="not in getStarTransactions")}

    def check(payment):
        fake_stars.checked.append(payment.pk)
        if payment.provider_payment_id == "c-down":
            raise ProviderError("Bad Gateway")
        return answers[payment.provider_payment_id]

    fake_stars.check = check
    return payments


def status(payment) -> str:
    payment.refresh_from_db()
    return payment.status


def test_reconcile_prints_what_it_did_and_the_failed_check(four, customer, fake_stars, capsys):
    call_command("payments_reconcile")  # one of four failed: not a failed run
    captured = capsys.readouterr()
    assert captured.out.strip() == "checked: 4, credited: 1, held: 1, expired: 1, errors: 1"
    assert f"failed: #{four['down'].pk}: " in captured.err and "Bad Gateway" in captured.err
    assert [status(four[k]) for k in ("paid", "short", "gone", "down", "recent")] == [
        "paid", "held", "expired", "pending", "pending"]
    assert four["recent"].pk not in fake_stars.checked
    assert Customer.objects.get(pk=customer.pk).balance_amount == 50_000

    # the next run checks what is left; its only check fails: now the run failed
    with pytest.raises(CommandError):
        call_command("payments_reconcile")
    assert capsys.readouterr().out.strip() == "checked: 1, credited: 0, held: 0, expired: 0, errors: 1"
    assert Customer.objects.get(pk=customer.pk).balance_amount == 50_000


def test_strict_fails_on_any_failed_check(four, capsys):
    with pytest.raises(CommandError) as failed:
        call_command("payments_reconcile", "--strict")
    assert failed.value.returncode == 1 and "1 of 4 check(s) failed" in str(failed.value)
    assert "checked: 4," in capsys.readouterr().out


def test_every_check_failing_is_exit_code_1(customer, fake_stars, capsys):
    payments = [pending(customer, minutes=20, charge=f"c-{n}") for n in range(2)]
    fake_stars.error = ProviderError("Connection refused")
    with pytest.raises(CommandError) as failed:
        call_command("payments_reconcile")
    assert failed.value.returncode == 1 and "2 of 2 check(s) failed" in str(failed.value)
    captured = capsys.readouterr()
    assert "checked: 2, credited: 0, held: 0, expired: 0, errors: 2" in captured.out
    assert captured.err.count("Connection refused") == 2
    assert [status(p) for p in payments] == ["pending", "pending"]


def test_nothing_to_check(customer, fake_stars, capsys):
    pending(customer, minutes=1, charge="c-new")
    stars_payment(customer, status=Payment.Status.HELD, charge="c-held",
                  created_at=timezone.now() - timedelta(hours=2))
    call_command("payments_reconcile")
    assert "Nothing to check" in capsys.readouterr().out and fake_stars.checked == []
