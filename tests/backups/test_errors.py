"""The admins' alerts about backups go through the message port (the notifications outbox
when it is on), once per subject."""

import pytest

from backups import services

pytestmark = pytest.mark.django_db


def test_alerts_go_through_the_notifications_outbox_when_installed(fake_telegram):
    from notifications.models import Notification

    services.backup_alert_admins(kind="backup_stale", text="late", dedup_key="k1")
    services.backup_alert_admins(kind="backup_stale", text="late", dedup_key="k1")
    alerts = Notification.objects.filter(type="admin_alert", context__kind="backup_stale")
    assert sorted(alerts.values_list("chat_id", flat=True)) == [9001, 9002]
    assert set(alerts.values_list("text", flat=True)) == {"late"}
    assert fake_telegram.calls == []  # queued in the caller's transaction, sent after commit
