import factory

from notifications.models import Notification, NotificationSettings, NotificationTemplate
from tests.factories import CustomerFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    customer = factory.SubFactory(CustomerFactory)
    chat_id = factory.LazyAttribute(lambda n: n.customer.telegram_id)
    type = "campaign"
    dedup_key = factory.Sequence(lambda n: f"test:{n}")
    text = "Hello"


class NotificationSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationSettings

    customer = factory.SubFactory(CustomerFactory)


class NotificationTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationTemplate

    type = "service_expiring"
    language = "en"
    body = "Your {plan} ends in {days_left} days"
