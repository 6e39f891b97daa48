"""The configs file of a bulk purchase: sent once when its last config arrives (two deliveries
finishing together send one), the claim given back when the upload fails, and spreadsheet
formulas in labels neutralised."""

import csv
import io

import pytest

from resellers import services
from resellers.models import Batch
from tests.factories import PlanFactory
from tests.resellers.core_support import buy, make_reseller
from vpnbot.shop.services import subscription_deliver_config
from vpnbot.transport import messages
from vpnbot.transport.messages import TelegramError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0


@pytest.fixture
def purchase():
    reseller = make_reseller(balance_amount=1_000_000)
    return buy(reseller, PlanFactory(price_amount=100_000), 3,
               labels=["=HYPERLINK(\"http://x\")", "+1+2", "Ali"])


def rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def deliver(purchase, capture):
    for n, account in enumerate(purchase.accounts, start=1):
        with capture(execute=True):
            subscription_deliver_config(subscription_id=account.first_subscription_id, config=f"vless://config-{n}")


def test_the_file_goes_once_when_the_last_config_arrives(purchase, fake_telegram, django_capture_on_commit_callbacks):
    first = purchase.accounts[0].first_subscription_id
    with django_capture_on_commit_callbacks(execute=True):
        subscription_deliver_config(subscription_id=first, config="vless://config-1")
    assert services.batch_complete_for(first) is None  # two configs still missing
    assert not fake_telegram.calls_to("sendDocument")
    deliver(purchase, django_capture_on_commit_callbacks)
    documents = fake_telegram.calls_to("sendDocument")
    assert len(documents) == 1 and documents[0].chat_id == purchase.batch.reseller.customer.telegram_id
    name, content = documents[0].files["document"]
    assert name == f"accounts-{purchase.batch.pk}.csv"
    assert [r[4] for r in rows(content)[1:]] == ["vless://config-1", "vless://config-2", "vless://config-3"]
    # asked again (a second delivery, the task run twice): nothing more is sent
    assert services.batch_complete_for(purchase.accounts[2].first_subscription_id) is None
    assert services.batch_send_file(batch_id=purchase.batch.pk) is False
    assert services.batch_send_file(batch_id=purchase.batch.pk) is False
    assert len(fake_telegram.calls_to("sendDocument")) == 1
    assert Batch.objects.get(pk=purchase.batch.pk).file_sent_at is not None


def test_a_failed_upload_gives_the_claim_back(purchase, fake_telegram, monkeypatch):
    real = messages.send_document

    def broken(*args, **kwargs):
        raise TelegramError("upload failed")

    monkeypatch.setattr(messages, "send_document", broken)
    with pytest.raises(TelegramError):
        services.batch_send_file(batch_id=purchase.batch.pk)
    assert Batch.objects.get(pk=purchase.batch.pk).file_sent_at is None
    monkeypatch.setattr(messages, "send_document", real)
    assert services.batch_send_file(batch_id=purchase.batch.pk) is True
    assert services.batch_send_file(batch_id=purchase.batch.pk) is False
    assert len(fake_telegram.calls_to("sendDocument")) == 1


def test_a_single_account_sends_no_file(fake_telegram, django_capture_on_commit_callbacks):
    reseller = make_reseller(balance_amount=1_000_000)
    account = buy(reseller, PlanFactory(), 1).accounts[0]
    with django_capture_on_commit_callbacks(execute=True):
        subscription_deliver_config(subscription_id=account.first_subscription_id, config="vless://one")
    assert services.batch_complete_for(account.first_subscription_id) is None
    assert not fake_telegram.calls_to("sendDocument")


def test_formulas_in_labels_are_neutralised(purchase):
    for account, label in zip(purchase.accounts, ["@SUM(A1)", "-2+3", "=cmd"], strict=True):
        account.label = label
        account.save(update_fields=["label"])
    name, content = services.batch_file(batch=purchase.batch)
    table = rows(content)
    assert table[0] == ["account", "label", "plan", "expires_at", "config"]
    assert [r[1] for r in table[1:]] == ["'@SUM(A1)", "'-2+3", "'=cmd"]
    assert [int(r[0]) for r in table[1:]] == [a.pk for a in purchase.accounts]


def test_labels_bought_with_formulas_are_neutralised_too(purchase):
    _name, content = services.batch_file(batch=purchase.batch)
    assert [r[1] for r in rows(content)[1:]] == ["'=HYPERLINK(\"http://x\")", "'+1+2", "Ali"]
