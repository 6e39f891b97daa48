"""Campaign delivery: once per recipient however often it runs, personal offer codes, the
condition tree, a blocked chat, and straight to the sender without an outbox."""


import pytest

from crm import tasks
from crm.models import Campaign, CampaignRecipient, PersonalizedOffer
from crm.selectors import campaign_stats
from crm.services import campaign_create, campaign_deliver, campaign_start
from notifications.services import notification_process
from tests.conftest import run_threads
from tests.crm.helpers import notifications_for, population

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("crm_on")]


def test_campaign_reaches_each_recipient_once_even_when_its_task_runs_twice(
        clock, fake_telegram, django_capture_on_commit_callbacks):
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
    _plan, risky, _happy = population()
    fake_telegram.block(risky[0].telegram_id)
    campaign = campaign_create(name="c", text="Hello", segments=["at_risk"], urgent=True)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks(execute=True):
        notification_process()
    stats = campaign_stats(campaign=campaign)
    assert (stats.targeted, stats.sent, stats.blocked) == (2, 1, 1)


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


def test_delivering_a_deleted_or_draft_campaign_sends_nothing(clock, caplog):
    _plan, _risky, _happy = population()
    assert tasks.deliver_campaign.apply(args=[987654]).get() == 0
    assert "987654" in caplog.text and "no such campaign" in caplog.text
    draft = campaign_create(name="d", text="Hi", segments=["at_risk"])
    assert tasks.deliver_campaign.apply(args=[draft.pk]).get() == 0
    assert Campaign.objects.get(pk=draft.pk).status == "draft"
    assert not CampaignRecipient.objects.exists()


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
