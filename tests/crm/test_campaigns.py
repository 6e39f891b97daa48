from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from crm import tasks
from crm.models import Campaign, CampaignRecipient, PersonalizedOffer
from crm.services import CrmError, campaign_create, campaign_deliver, campaign_start, campaign_stats, profiles_recompute, recipient_press
from tests.conftest import run_threads
from tests.crm.factories import CustomerFactory, OrderFactory, PlanFactory, buy

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # 12:30 in Tehran: not quiet hours


@pytest.fixture(autouse=True)
def crm_on(settings):
    settings.ENABLE_CRM = True
    settings.CRM_AUTO_OFFERS = False
    settings.CRM_AT_RISK_DAYS = 5
    settings.DEFAULT_CASHBACK_PERCENT = 0


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def population():
    plan = PlanFactory(duration_days=30)
    risky = []
    for i in range(2):
        customer = CustomerFactory(joined_at=NOON - timedelta(days=60), first_name=f"R{i}")
        buy(customer, plan, at=NOON - timedelta(days=27))
        risky.append(customer)
    happy = CustomerFactory(joined_at=NOON - timedelta(days=60))
    buy(happy, plan, at=NOON - timedelta(days=2))
    profiles_recompute(make_offers=False)
    return plan, risky, happy


def notifications_for(campaign):
    from notifications.models import Notification

    return Notification.objects.filter(pk__in=CampaignRecipient.objects.filter(campaign=campaign).values("notification_id"))


def test_campaign_reaches_each_recipient_once_even_when_its_task_runs_twice(
        clock, fake_telegram, django_capture_on_commit_callbacks):
    from notifications.services import notification_process

    _plan, risky, happy = population()
    campaign = campaign_create(name="Come back", text="Hi {first_name}, renew now!", segments=["at_risk"])
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    assert set(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", flat=True)) == {
        c.pk for c in risky}
    # the task runs again (redelivery) and again while "sending" (a crashed worker's rerun)
    assert tasks.deliver_campaign(campaign.pk) == 0
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    assert campaign_deliver(campaign_id=campaign.pk) == 0
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 2
    assert notifications_for(campaign).count() == 2
    assert set(notifications_for(campaign).values_list("type", flat=True)) == {"campaign"}
    with django_capture_on_commit_callbacks(execute=True):
        notification_process()
        notification_process()
    for customer in risky:
        texts = fake_telegram.sent_texts(customer.telegram_id)
        assert texts == [f"Hi {customer.first_name}, renew now!"]
    assert fake_telegram.sent_texts(happy.telegram_id) == []
    stats = campaign_stats(campaign=Campaign.objects.get(pk=campaign.pk))
    assert (stats.targeted, stats.sent, stats.failed, stats.blocked, stats.pending) == (2, 2, 0, 0, 0)


def test_blocked_recipient_is_counted(clock, fake_telegram, django_capture_on_commit_callbacks):
    from notifications.services import notification_process

    _plan, risky, _happy = population()
    fake_telegram.block(risky[0].telegram_id)
    campaign = campaign_create(name="c", text="Hello", segments=["at_risk"], urgent=True)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks(execute=True):
        notification_process()
    stats = campaign_stats(campaign=campaign)
    assert (stats.targeted, stats.sent, stats.blocked) == (2, 1, 1)


def test_conversion_window_pressed_and_revenue(clock):
    plan = PlanFactory(duration_days=30)
    a, b, c = (CustomerFactory(joined_at=NOON - timedelta(days=60)) for _ in range(3))
    campaign = campaign_create(name="c", text="Hello", conversion_days=7)
    for customer in (a, b, c):
        CampaignRecipient.objects.create(campaign=campaign, customer=customer, created_at=NOON)
    OrderFactory(customer=a, plan=plan, paid_amount=70_000, list_amount=70_000, paid_at=NOON + timedelta(days=3))
    OrderFactory(customer=a, plan=plan, paid_amount=50_000, list_amount=50_000, paid_at=NOON + timedelta(days=8))
    OrderFactory(customer=b, plan=plan, paid_amount=90_000, list_amount=90_000,
                 paid_at=NOON + timedelta(days=7))  # the window's last moment
    OrderFactory(customer=c, plan=plan, paid_amount=30_000, list_amount=30_000, paid_at=NOON - timedelta(hours=1))
    recipient = CampaignRecipient.objects.get(campaign=campaign, customer=a)
    assert recipient_press(recipient_id=recipient.pk, customer=a) is not None
    assert recipient_press(recipient_id=recipient.pk, customer=a) is not None
    assert recipient_press(recipient_id=recipient.pk, customer=b) is None  # not theirs
    stats = campaign_stats(campaign=campaign)
    assert (stats.targeted, stats.pressed, stats.converted, stats.revenue_amount) == (3, 1, 2, 160_000)


def test_campaign_offer_codes_are_personal(clock, django_capture_on_commit_callbacks):
    _plan, risky, _happy = population()
    campaign = campaign_create(name="c", text="{first_name}: {percent}% off with {code}", segments=["at_risk"],
                               offer_percent_bp=2000, offer_valid_hours=48)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    offers = PersonalizedOffer.objects.filter(kind="campaign")
    assert offers.count() == 2 and len({o.code for o in offers}) == 2
    for recipient in CampaignRecipient.objects.filter(campaign=campaign).select_related("offer"):
        n = notifications_for(campaign).get(pk=recipient.notification_id)
        assert n.text == f"{recipient.customer.first_name}: 20% off with {recipient.offer.code}"
        assert n.buttons[0][0][1] == f"crm:c:{recipient.pk}"


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
    from django.utils import translation

    data = {"name": "x", "text": "Hello"} | kwargs
    with translation.override("en"), pytest.raises(CrmError, match=message):
        campaign_create(**data)
    assert not Campaign.objects.exists()


def test_condition_tree_with_the_segment_predicate(clock, django_capture_on_commit_callbacks):
    _plan, risky, happy = population()
    campaign = campaign_create(name="c", text="Hello", condition={"not": {"segment": ["at_risk", "churned"]}})
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    assert list(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", flat=True)) == [happy.pk]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_make_each_recipient_once(clock):
    population()
    campaign = campaign_create(name="c", text="Hello", segments=["at_risk"])
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    results = run_threads(lambda i: campaign_deliver(campaign_id=campaign.pk), 3)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 2
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 2


def test_segments_are_notification_audiences(clock):
    from notifications.audiences import audience_queryset, get_audience

    _plan, risky, happy = population()
    assert str(get_audience("crm_at_risk").label) in ("At Risk", "در خطر ترک")
    assert set(audience_queryset("crm_at_risk").values_list("pk", flat=True)) == {c.pk for c in risky}
    assert list(audience_queryset("crm_active").values_list("pk", flat=True)) == [happy.pk]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_an_edit_racing_a_start_never_puts_the_campaign_back_to_draft(clock):
    from django.utils import timezone

    from crm.services import campaign_update

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


def test_delivering_a_deleted_or_draft_campaign_sends_nothing(clock, caplog):
    _plan, _risky, _happy = population()
    assert tasks.deliver_campaign.apply(args=[987654]).get() == 0
    assert "987654" in caplog.text and "no such campaign" in caplog.text
    draft = campaign_create(name="d", text="Hi", segments=["at_risk"])
    assert tasks.deliver_campaign.apply(args=[draft.pk]).get() == 0
    assert Campaign.objects.get(pk=draft.pk).status == "draft"
    assert not CampaignRecipient.objects.exists()


def many_at_risk(n):
    plan = PlanFactory(duration_days=30)
    for i in range(n):
        customer = CustomerFactory(joined_at=NOON - timedelta(days=60), first_name=f"M{i}")
        buy(customer, plan, at=NOON - timedelta(days=27))
    profiles_recompute(make_offers=False)


def test_a_sending_campaign_can_be_stopped(clock, fake_telegram, django_capture_on_commit_callbacks, monkeypatch):
    """Stopped while its recipients are being added: no more are added, and the messages
    of those already added are cancelled before they go out."""
    from crm.services import campaign_stop
    from crm.services import campaigns as campaign_services
    from notifications.services import notification_process

    many_at_risk(4)
    campaign = campaign_create(name="c", text="Hello", segments=["at_risk"])
    real_matches, seen = campaign_services._matches, []

    def stop_at_the_third(c, customer, now):
        seen.append(customer.pk)
        if len(seen) == 3:
            stopped, cancelled = campaign_stop(campaign_id=c.pk)
            assert stopped.status == "cancelled" and cancelled == 2
        return real_matches(c, customer, now)

    monkeypatch.setattr(campaign_services, "_matches", stop_at_the_third)
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
    from crm.services import campaign_stop
    from notifications.services import notification_process

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
    import threading

    from crm.services import campaign_stop
    from notifications.models import Notification

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


def test_without_an_outbox_a_campaign_goes_straight_to_the_sender(clock, fake_telegram, direct_messages,
                                                                   django_capture_on_commit_callbacks):
    _plan, risky, happy = population()
    campaign = campaign_create(name="Direct", text="Hi {first_name}", segments=["at_risk"])
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    for customer in risky:
        assert fake_telegram.sent_texts(customer.telegram_id) == [f"Hi {customer.first_name}"]
    assert set(CampaignRecipient.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"sent"}
    stats = campaign_stats(campaign=Campaign.objects.get(pk=campaign.pk))
    assert (stats.targeted, stats.sent, stats.pending) == (2, 2, 0)
