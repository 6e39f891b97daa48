"""The doors: admin login lockout, API throttling, page size ceiling, staff-only docs."""

import logging

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
PASSWORD = "S3cret-Pa55-xyz"


@pytest.fixture
def staff():
    return User.objects.create_user("boss", password=PASSWORD, is_staff=True, is_superuser=True)


def _login(client, password, ip="203.0.113.7", **headers):
    return client.post("/admin/login/?next=/admin/", {"username": "boss", "password": password}, REMOTE_ADDR=ip,
                       **headers)


def test_repeated_wrong_passwords_lock_the_admin_login_and_log_no_password(client, staff, settings, caplog):
    with caplog.at_level(logging.DEBUG):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert _login(client, "wrong-guess-123").status_code == 200  # the form again, with the error
        locked = _login(client, "wrong-guess-123")
        assert locked.status_code == 429
        assert _login(client, PASSWORD).status_code == 429  # even the right password, from there
    assert "wrong-guess-123" not in caplog.text and PASSWORD not in caplog.text
    assert "boss" in caplog.text  # the failure is logged, with who
    # another address is not locked out by this one's guesses
    assert _login(client, PASSWORD, ip="198.51.100.9").status_code == 302


@pytest.mark.parametrize("language, texts", [
    ("fa", ["تلاش‌های ناموفق ورود بیش از حد مجاز", "از مدیر دیگری بخواهید قفل آن را باز کند"]),
    ("en", ["Too many failed logins", "ask another administrator to unlock it"]),
])
def test_the_lockout_page_reads_in_the_browsers_language(client, staff, settings, language, texts):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked = _login(client, "wrong-guess-123", HTTP_ACCEPT_LANGUAGE=language)
    assert locked.status_code == 429
    assert all(text in locked.content.decode() for text in texts)


def test_a_good_login_resets_the_count(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "nope")
    assert _login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "nope").status_code == 200


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "anon": "3/min", "user": "5/min", "auth_failures": "2/hour"}}


def test_requests_without_credentials_are_throttled_per_address(low_rates):
    api = APIClient()
    codes = [api.get("/api/v1/", REMOTE_ADDR="203.0.113.8").status_code for _ in range(4)]
    assert codes[:3] in ([401] * 3, [403] * 3) and codes[3] == 429
    assert api.get("/api/v1/", REMOTE_ADDR="203.0.113.9").status_code in (401, 403)  # another address


def test_each_token_is_throttled_on_its_own(staff, low_rates):
    from rest_framework.authtoken.models import Token

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    codes = [api.get("/api/v1/").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert int(api.get("/api/v1/")["Retry-After"]) > 0
    other = User.objects.create_user("ops", is_staff=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other).key}")
    assert api.get("/api/v1/").status_code == 200


def test_guessing_tokens_gets_the_address_refused(staff, low_rates):
    from rest_framework.authtoken.models import Token

    good = Token.objects.create(user=staff).key
    api = APIClient(REMOTE_ADDR="203.0.113.10")
    for guess in ("a" * 40, "b" * 40):
        api.credentials(HTTP_AUTHORIZATION=f"Token {guess}")
        assert api.get("/api/v1/customers/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {good}")
    assert api.get("/api/v1/customers/").status_code == 429  # even a right one, from that address, for now
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.10")
    elsewhere.credentials(HTTP_AUTHORIZATION=f"Token {good}")
    assert elsewhere.get("/api/v1/customers/").status_code == 200


def test_a_huge_limit_gets_one_page_of_at_most_the_ceiling(admin_client, settings):
    from tests.factories import CustomerFactory

    settings.API_MAX_PAGE_SIZE = 7
    CustomerFactory.create_batch(10)
    page = admin_client.get("/api/v1/customers/?limit=1000000000").json()
    assert page["count"] == 10 and len(page["results"]) == 7 and page["next"]


def test_the_schema_and_docs_are_for_staff_only(client, admin_client):
    assert client.get("/api/schema/").status_code in (401, 403)
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and "/admin/login/" in docs["Location"]
    assert admin_client.get("/api/schema/").status_code == 200
    assert admin_client.get("/api/docs/").status_code == 200
