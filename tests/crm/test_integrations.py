"""What the CRM plugs into other apps: each segment is a notifications audience."""


import pytest

from tests.crm.helpers import population
from vpnbot.shop.audiences import audience_queryset, get_audience

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("crm_on")]


def test_segments_are_notification_audiences(clock):
    _plan, risky, happy = population()
    assert str(get_audience("crm_at_risk").label) in ("At Risk", "در خطر ترک")
    assert set(audience_queryset("crm_at_risk").values_list("pk", flat=True)) == {c.pk for c in risky}
    assert list(audience_queryset("crm_active").values_list("pk", flat=True)) == [happy.pk]
