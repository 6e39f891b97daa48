"""Who may use admin commands: ADMIN_TELEGRAM_IDS, or whoever a registered check accepts
(the shop registers its operator flag)."""

from collections.abc import Callable

from django.conf import settings

_checks: list[Callable[[int], bool]] = []


def register_admin_check(fn: Callable[[int], bool]) -> None:
    if fn not in _checks:
        _checks.append(fn)


def is_admin(telegram_id: int | None) -> bool:
    if telegram_id is None:
        return False
    if int(telegram_id) in settings.ADMIN_TELEGRAM_IDS:
        return True
    return any(check(int(telegram_id)) for check in _checks)


def admin_chat_ids() -> list[int]:
    """Everyone who receives admin alerts (receipts to review, failed backups)."""
    ids = list(settings.ADMIN_TELEGRAM_IDS)
    for provider in _admin_providers:
        for chat_id in provider():
            if chat_id not in ids:
                ids.append(chat_id)
    return ids


_admin_providers: list[Callable[[], list[int]]] = []


def register_admin_provider(fn: Callable[[], list[int]]) -> None:
    if fn not in _admin_providers:
        _admin_providers.append(fn)
