import pytest

from vpnbot.shop import messaging


@pytest.fixture
def notices(monkeypatch):
    """What discounts told customers through the shop's notify_customer (whoever delivers it)."""
    recorded = []

    def notifier(*, customer, kind, context, text, buttons, dedup_key):
        recorded.append({"customer": customer, "kind": kind, "context": context, "text": text, "dedup_key": dedup_key})

    monkeypatch.setattr(messaging, "_notifier", notifier)
    return recorded
