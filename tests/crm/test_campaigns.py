"""A campaign's life: bad campaigns refused, a schedule kept, an edit racing a start, and a stop
while sending, after sending or racing the delivery."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from crm import tasks
from crm.models import Campaign, CampaignRecipient
from crm.selectors import campaign_stats
from crm.services import (
    CrmError,
    campaign_create,
    campaign_deliver,
    campaign_delivery,
    campaign_start,
    campaign_stop,
    campaign_update,
)
from notifications.models import Notification
from notifications.services import notification_process
from tests.conftest import run_threads
from tests.crm.helpers import NOON, many_at_risk, notifications_for, population

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("crm_on")]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"text": "Hi {name}"}, "Unknown placeholder"),
    ({"text": "Hi {first_name"}, "unbalanced"),
    ({"text": "  "}, "empty"),
    ({"segments": ["vips"]}, "Unknown segment"),
    ({"buttons": [["Open", "http://x"]]}, "https URL"),
    ({"condition": {"segmentz": "vip"}}, "unknown condition"),
    ({"condition": {"segment": "nobody"}}, "unknown segment"),
    ({"offer_percent_bp": 20000}, "percentage"),
])
def test_bad_campaigns_are_refused(kwargs, message):
    data = {"name": "x", "text": "Hello"} | kwargs
    with translation.override("en"), pytest.raises(CrmError, match=message):
        campaign_create(**data)
    assert not Campaign.objects.exists()


def test_scheduled_campaign_waits_for_its_time(clock, django_capture_on_commit_callbacks):
    population()
    campaign = campaign_create(name="later", text="Hello", segments=["at_risk"])
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk, at=NOON + timedelta(hours=2))
    assert tasks.deliver_due_campaigns() == 0
    clock.move_to(NOON + timedelta(hours=2))
    assert tasks.deliver_due_campaigns() == 2
    assert Campaign.objects.get(pk=campaign.pk).status == "sent"
    with pytest.raises(CrmError):
        campaign_start(campaign_id=campaign.pk)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_an_edit_racing_a_start_never_puts_the_campaign_back_to_draft(clock):
    population()
    for attempt in range(5):
        campaign = campaign_create(name=f"c{attempt}", text="Hello", segments=["at_risk"],
                                   scheduled_for=timezone.now() + timedelta(days=1))

        def work(i, pk=campaign.pk):
            if i == 0:
                return campaign_start(campaign_id=pk)
            try:
                return campaign_update(campaign_id=pk, name=f"edited {i}")
            except CrmError as exc:
                return exc

        results = run_threads(work, 3)
        assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, CrmError)], results
        campaign.refresh_from_db()
        assert campaign.status == "scheduled"


def test_a_sending_campaign_can_be_stopped(clock, fake_telegram, django_capture_on_commit_callbacks, monkeypatch):
    """Stopped while its recipients are being added: no more are added, and the messages
    of those already added are cancelled before they go out."""
    many_at_risk(4)
    campaign = campaign_create(name="c", text="Hello", segments=["at_risk"])
    real_matches, seen = campaign_delivery._matches, []

    def stop_at_the_third(c, customer, now):
        seen.append(customer.pk)
        if len(seen) == 3:
            stopped, cancelled = campaign_stop(campaign_id=c.pk)
            assert stopped.status == "cancelled" and cancelled == 2
        return real_matches(c, customer, now)

    monkeypatch.setattr(campaign_delivery, "_matches", stop_at_the_third)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == "cancelled" and campaign.finished_at is not None
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 2
    assert set(notifications_for(campaign).values_list("status", flat=True)) == {"cancelled"}
    notification_process()
    assert not fake_telegram.calls_to("sendMessage")
    with pytest.raises(CrmError):  # already cancelled
        campaign_stop(campaign_id=campaign.pk)


def test_a_sent_campaign_with_messages_still_waiting_can_be_stopped(clock, fake_telegram,
                                                                    django_capture_on_commit_callbacks):
    many_at_risk(3)
    campaign = campaign_create(name="c", text="Hello", segments=["at_risk"])
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    assert Campaign.objects.get(pk=campaign.pk).status == "sent"  # all recipients added; the outbox sends
    first = notifications_for(campaign).order_by("pk").first()
    notification_process(ids=[first.pk])
    assert campaign_stop(campaign_id=campaign.pk)[1] == 2
    notification_process()
    assert len(fake_telegram.calls_to("sendMessage")) == 1
    stats = campaign_stats(campaign=Campaign.objects.get(pk=campaign.pk))
    assert (stats.targeted, stats.sent, stats.skipped, stats.pending) == (3, 1, 2, 0)
    draft = campaign_create(name="d", text="Hello")
    with pytest.raises(CrmError):
        campaign_stop(campaign_id=draft.pk)
    done = campaign_create(name="e", text="Hello", segments=["at_risk"])
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=done.pk)
    notification_process()
    with pytest.raises(CrmError):  # nothing left to stop
        campaign_stop(campaign_id=done.pk)
    assert Campaign.objects.get(pk=done.pk).status == "sent"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_stop_racing_the_delivery_leaves_no_message_waiting(clock):
    """Whenever the stop lands, every recipient added before it has its message cancelled
    and none is added after it."""
    many_at_risk(30)
    for attempt in range(3):
        campaign = campaign_create(name=f"c{attempt}", text="Hello", segments=["at_risk"])
        Campaign.objects.filter(pk=campaign.pk).update(status="sending", scheduled_for=NOON)
        started = threading.Event()

        def work(i, pk=campaign.pk, started=started):
            if i == 0:
                started.set()
                return campaign_deliver(campaign_id=pk)
            started.wait(5)
            while not CampaignRecipient.objects.filter(campaign_id=pk).count() > 3 * attempt:
                pass
            return campaign_stop(campaign_id=pk)

        results = run_threads(work, 2)
        assert not [r for r in results if isinstance(r, Exception)], results
        assert Campaign.objects.get(pk=campaign.pk).status == "cancelled"
        added = CampaignRecipient.objects.filter(campaign=campaign).count()
        assert results[0] == added < 30 or added == 30
        assert not Notification.objects.filter(pk__in=CampaignRecipient.objects.filter(campaign=campaign)
                                               .values("notification_id"), status="pending").exists()
