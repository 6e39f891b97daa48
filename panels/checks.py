"""System checks of the panels app: the key that encrypts panel credentials."""

from django.conf import settings
from django.core import checks

from .crypto import key_is_valid


@checks.register()
def encryption_key(app_configs=None, **kwargs):
    key = settings.PANEL_ENCRYPTION_KEY
    if key and not key_is_valid(key):
        return [checks.Error("PANEL_ENCRYPTION_KEY is not a Fernet key (32 bytes, urlsafe base64)",
                             hint='make one with: python -c "from cryptography.fernet import Fernet; '
                                  'print(Fernet.generate_key().decode())"', id="panels.E001")]
    if not key and not settings.DEBUG and not settings.SECRET_KEY.startswith("dev-insecure"):
        return [checks.Warning("PANEL_ENCRYPTION_KEY is not set: panel credentials are encrypted with a key "
                               "derived from SECRET_KEY, and changing SECRET_KEY makes them unreadable",
                               hint="set PANEL_ENCRYPTION_KEY in .env (see docs/provisioning.md)", id="panels.W001")]
    return []
