"""The staff API: list, status, create, verify; staff only."""

import pytest
from rest_framework.authtoken.models import Token

from backups.models import Backup

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, staff):
    token = Token.objects.create(user=staff)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client


def test_api_list_status_create_verify(api):
    listed = api.get("/api/v1/backups/")
    assert listed.status_code == 200 and listed.json()["count"] == 0
    created = api.post("/api/v1/backups/")
    assert created.status_code == 202
    backup = Backup.objects.get()
    assert backup.status == "succeeded" and backup.requested_by == "api:boss"
    status = api.get("/api/v1/backups/status/").json()
    assert status["last"]["manual"]["id"] == backup.pk and status["count"] == 1
    assert api.post(f"/api/v1/backups/{backup.pk}/verify/").status_code == 202
    backup.refresh_from_db()
    assert backup.status == "verified"
    assert api.post("/api/v1/backups/999999/verify/").status_code == 404


def test_api_is_for_staff_only(client, django_user_model):
    assert client.get("/api/v1/backups/").status_code in (401, 403)
    user = django_user_model.objects.create_user("cust", password="pw")
    client.force_login(user)
    assert client.post("/api/v1/backups/").status_code == 403
    assert not Backup.objects.exists()
