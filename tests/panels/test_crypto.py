"""Panel secrets at rest: encrypted, readable only with the key, and the key checked at start."""

import pytest
from cryptography.fernet import Fernet

from panels import checks, crypto
from panels.models import Panel
from panels.services import panel_create


def test_secrets_round_trip_and_a_changed_key_is_reported(settings):
    settings.PANEL_ENCRYPTION_KEY = Fernet.generate_key().decode()
    token = crypto.encrypt("s3cret-pass")
    assert "s3cret" not in token and crypto.decrypt(token) == "s3cret-pass"
    settings.PANEL_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token)


def test_without_a_key_one_is_derived_from_secret_key(settings):
    settings.PANEL_ENCRYPTION_KEY = ""
    token = crypto.encrypt("pw")
    assert crypto.decrypt(token) == "pw"
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token)


@pytest.mark.django_db
def test_the_database_never_holds_the_password(settings):
    panel = panel_create(name="p", kind="marzban", base_url="https://panel.example.com", username="admin",
                         password="Very-Secret-Pw-123")
    raw = Panel.objects.filter(pk=panel.pk).values_list("password_encrypted", flat=True).get()
    assert raw and "Very-Secret" not in raw and crypto.decrypt(raw) == "Very-Secret-Pw-123"
    assert "Very-Secret" not in repr(panel) and "Very-Secret" not in str(panel)


def test_the_system_check_refuses_a_bad_key_and_warns_without_one(settings):
    settings.PANEL_ENCRYPTION_KEY = "not-a-key"
    assert [m.id for m in checks.encryption_key()] == ["panels.E001"]
    settings.PANEL_ENCRYPTION_KEY, settings.DEBUG = "", False
    settings.SECRET_KEY = "dev-insecure-change-me-" + "x" * 32  # make run's default: a machine to try things on
    assert checks.encryption_key() == []
    settings.SECRET_KEY = "a-production-secret-" + "z" * 40
    assert [m.id for m in checks.encryption_key()] == ["panels.W001"]
    settings.PANEL_ENCRYPTION_KEY = Fernet.generate_key().decode()
    assert checks.encryption_key() == []
