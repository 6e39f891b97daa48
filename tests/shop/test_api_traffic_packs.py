"""Traffic packs in the staff API (/api/v1/traffic-packs/, model permissions) and the admin."""

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from vpnbot.core import bounds
from vpnbot.shop.models import TrafficPack

pytestmark = pytest.mark.django_db
URL = "/api/v1/traffic-packs/"


def client_for(role: str | None = None, *, superuser=False) -> APIClient:
    user = User.objects.create_user(f"{role or 'super'}-u", password="pw", is_staff=True, is_superuser=superuser)
    if role and role != "nobody":
        user.groups.add(Group.objects.get(name=role.capitalize()))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_crud_with_bounds():
    api = client_for(superuser=True)
    created = api.post(URL, {"name": "Boost 10", "traffic_gb": 10, "price_amount": 40_000}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json() == {"id": pk, "name": "Boost 10", "traffic_gb": 10, "price_amount": 40_000, "is_active": True,
                              "sort_order": 0}
    bad = api.post(URL, {"name": "Bad", "traffic_gb": 0, "price_amount": bounds.MAX_AMOUNT + 1,
                         "sort_order": bounds.MAX_RANK + 1}, format="json")
    assert bad.status_code == 400 and {"traffic_gb", "price_amount", "sort_order"} <= set(bad.json())
    too_much = api.post(URL, {"name": "Huge", "traffic_gb": bounds.MAX_TRAFFIC_GB + 1, "price_amount": 1}, format="json")
    assert too_much.status_code == 400 and "traffic_gb" in too_much.json()
    assert api.patch(f"{URL}{pk}/", {"is_active": False}, format="json").json()["is_active"] is False
    assert api.get(URL).json()["results"][0]["id"] == pk
    assert "traffic-packs" in api.get("/api/v1/").json()
    assert api.delete(f"{URL}{pk}/").status_code == 204
    assert not TrafficPack.objects.exists()


@pytest.mark.parametrize("role, reads, writes", [("nobody", False, False), ("support", True, False),
                                                 ("accountant", True, False), ("owner", True, True)])
def test_permissions_by_role(role, reads, writes):
    pack = TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    api = client_for(role)
    assert (api.get(URL).status_code == 200) == reads
    created = api.post(URL, {"name": "New", "traffic_gb": 1, "price_amount": 1}, format="json")
    changed = api.patch(f"{URL}{pack.pk}/", {"price_amount": 1}, format="json")
    deleted = api.delete(f"{URL}{pack.pk}/")
    if writes:
        assert (created.status_code, changed.status_code, deleted.status_code) == (201, 200, 204)
    else:
        assert {created.status_code, changed.status_code, deleted.status_code} == {403}
        pack.refresh_from_db()
        assert pack.price_amount == 30_000 and TrafficPack.objects.count() == 1


def test_anonymous_is_refused(client):
    assert client.get(URL).status_code in (401, 403)


def test_the_admin_creates_and_lists_packs(admin_client):
    response = admin_client.post("/admin/shop/trafficpack/add/", {"name": "Boost", "traffic_gb": 5, "price_amount": 30_000,
                                                                 "is_active": "on", "sort_order": 0})
    assert response.status_code == 302 and TrafficPack.objects.get().traffic_gb == 5
    refused = admin_client.post("/admin/shop/trafficpack/add/", {"name": "Bad", "traffic_gb": 0, "price_amount": 1,
                                                                "sort_order": 0})
    assert refused.status_code == 200 and TrafficPack.objects.count() == 1
    for url in ("/admin/shop/trafficpack/", "/admin/shop/trafficpurchase/", "/admin/shop/trial/"):
        assert admin_client.get(url).status_code == 200
