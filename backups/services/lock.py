"""The one backup lock: create, verify, restore, import and cleanup run one at a time. A
`BackupLock` row's primary key makes a second holder's INSERT fail on every database."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import BackupLock
from .errors import BackupBusy

LOCK_NAME = "backups"


def lock_holder() -> BackupLock | None:
    """The lock's row while an operation runs (its holder says what), else None."""
    return BackupLock.objects.filter(name=LOCK_NAME, expires_at__gt=timezone.now()).first()


def _lock_acquire(holder: str) -> str:
    token = uuid.uuid4().hex
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                BackupLock.objects.create(name=LOCK_NAME, token=token, holder=holder[:200], acquired_at=now,
                                          expires_at=now + timedelta(seconds=settings.BACKUP_LOCK_TIMEOUT))
            return token
        except IntegrityError:
            # a crashed holder's row: remove it only if it is still the expired one
            if not BackupLock.objects.filter(name=LOCK_NAME, expires_at__lte=now).delete()[0]:
                break
    current = BackupLock.objects.filter(name=LOCK_NAME).first()
    if current:
        since = timezone.localtime(current.acquired_at).strftime("%Y-%m-%d %H:%M")
        raise BackupBusy(_("Another backup operation is running (%(what)s, since %(since)s). Try again when it "
                           "has finished.") % {"what": current.holder, "since": since})
    raise BackupBusy(_("Another backup operation is running. Try again when it has finished."))


@contextmanager
def backup_lock(*, holder: str, clear_all: bool = False):
    """Hold the one backup lock. `clear_all` (after a restore, which rewrote the lock table
    with the dump's rows) removes every row on release."""
    token = _lock_acquire(holder)
    try:
        yield token
    finally:
        if clear_all:
            BackupLock.objects.all().delete()
        else:
            BackupLock.objects.filter(name=LOCK_NAME, token=token).delete()
