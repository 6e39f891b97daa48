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


# --- who is not served at all (a banned customer): consulted for every update -----------------------

_gates: list[Callable[[int], str | None]] = []


def register_gate(fn: Callable[[int], str | None]) -> None:
    """fn(telegram_id) -> None to let the update through, or the one answer to give instead
    ("" = none: the update is ignored in silence). The anti-fraud app registers its bans."""
    if fn not in _gates:
        _gates.append(fn)


def unregister_gate(fn: Callable[[int], str | None]) -> None:
    if fn in _gates:
        _gates.remove(fn)


def gated() -> bool:
    """Whether any gate is registered (the transport skips the question otherwise)."""
    return bool(_gates)


def gate(telegram_id: int | None) -> str | None:
    """The answer a person gets instead of being served, or None to serve them. The admins in
    ADMIN_TELEGRAM_IDS are always served."""
    if telegram_id is None or not _gates or int(telegram_id) in settings.ADMIN_TELEGRAM_IDS:
        return None
    for fn in _gates:
        answer = fn(int(telegram_id))
        if answer is not None:
            return answer
    return None


# --- the same question where there is no chat to fall silent in (the Mini App, a Stars pre-checkout) ---

_refusals: list[Callable[[int], str | None]] = []


def register_refusal(fn: Callable[[int], str | None]) -> None:
    """fn(telegram_id) -> None to serve the person, or the polite text to refuse them with,
    every time and without side effects (the anti-fraud app registers its bans)."""
    if fn not in _refusals:
        _refusals.append(fn)


def unregister_refusal(fn: Callable[[int], str | None]) -> None:
    if fn in _refusals:
        _refusals.remove(fn)


def refusal(telegram_id: int | None) -> str | None:
    """The polite refusal for a person who is not served (a banned customer), or None. The
    admins in ADMIN_TELEGRAM_IDS are always served."""
    if telegram_id is None or not _refusals or int(telegram_id) in settings.ADMIN_TELEGRAM_IDS:
        return None
    for fn in _refusals:
        answer = fn(int(telegram_id))
        if answer is not None:
            return answer
    return None
