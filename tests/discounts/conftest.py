import pytest

from vpnbot.transport import messages


@pytest.fixture
def notices(monkeypatch):
    """What discounts told customers through the message port (whoever delivers it)."""
    recorded = []

    class Recorder:
        def notify_chat(self, chat_id, text, *, kind, buttons, photo, dedup_key, context, urgent, source, parse_mode):
            recorded.append({"chat_id": chat_id, "kind": kind, "context": context, "text": text, "dedup_key": dedup_key})
            return messages.Queued()

    monkeypatch.setattr(messages, "_outbox", Recorder())
    return recorded
