import pytest
from django.contrib.auth.models import User


@pytest.fixture(autouse=True)
def _notification_defaults(settings):
    settings.NOTIFICATION_DEFAULT_QUIET_HOURS = ""
    settings.NOTIFICATION_DEFAULT_DAILY_LIMIT = 5
    settings.NOTIFICATION_DEFAULT_MIN_INTERVAL_MINUTES = 0
    settings.ENABLE_AUTO_NOTIFICATIONS = True
    settings.TIME_ZONE = "Asia/Tehran"


@pytest.fixture
def staff():
    return User.objects.create_superuser("ops", "ops@example.com", "pw")
