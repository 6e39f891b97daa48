"""Panel passwords and tokens at rest: Fernet (cryptography) with PANEL_ENCRYPTION_KEY, or a
key derived from SECRET_KEY when that is unset. A secret is decrypted only to make a call."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret was encrypted with another key (PANEL_ENCRYPTION_KEY or SECRET_KEY
    changed): set the panel's password or token again."""


def _fernet() -> Fernet:
    key = settings.PANEL_ENCRYPTION_KEY
    if not key:
        digest = hashlib.sha256(b"vpnbot-panels:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("the panel's stored secret cannot be read with the current key") from None


def key_is_valid(key: str) -> bool:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        return False
    return True
