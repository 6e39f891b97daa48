"""Demo data: a shop that looks lived in on its first run (`manage.py demo_data`).

`demo_build` makes the plans and offers, then six months of customers through the shop's own
services (history.py), a campaign, the CRM's segments, and a backup; `demo_reset` forgets the
customers and everything that hangs on them (and the local chat's conversations) to start over.
Nothing reaches Telegram or the stand-in while the history is made (quiet.py)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from vpnbot.shop.models import Customer, Plan

from ..store import get_store
from .catalog import PROMO_CODE, demo_provisioner, offers_ensure, plans_ensure
from .clock import clock
from .history import DAYS, Story, Tally
from .quiet import quiet

log = logging.getLogger(__name__)
DEFAULT_CUSTOMERS = 200
DEFAULT_SEED = 20


class DemoRefused(Exception):
    """The database already has customers: demo data is made only in an empty shop."""


@dataclass
class Summary:
    tally: Tally
    seconds: float
    campaign: bool
    backup: bool


def customer_count() -> int:
    return Customer.objects.count()


def demo_build(*, customers: int = DEFAULT_CUSTOMERS, seed: int = DEFAULT_SEED) -> Summary:
    """Six months of a shop in an empty database; DemoRefused when it has customers."""
    if not 1 <= customers <= 5000:
        raise ValueError("The number of customers must be between 1 and 5000.")
    existing = customer_count()
    if existing:
        raise DemoRefused(f"The database already has {existing} customers: demo data is made only in an empty shop "
                          "(manage.py demo_data --reset forgets them and starts over).")
    started = time.monotonic()
    plans_ensure()
    since = timezone.now() - timedelta(days=DAYS + 1)
    offers_ensure(since=since)
    _fast_sqlite()
    with quiet(), demo_provisioner(), clock() as settable:
        tally = Story(clock=settable, customers=customers, seed=seed, code=PROMO_CODE).run()
        _crm_recompute()
        campaign = _campaign()
        _send_waiting()
    backup = _backup()
    return Summary(tally=tally, seconds=time.monotonic() - started, campaign=campaign, backup=backup)


def _fast_sqlite() -> None:
    """SQLite in WAL mode keeps every commit safe with synchronous=NORMAL, at a fraction of the
    cost of FULL: the demo's thousands of small transactions take seconds, not minutes."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=NORMAL")


def _campaign() -> bool:
    """A win-back campaign to the customers the CRM sees drifting away (its offer: 20 % off for
    three days)."""
    from crm.models import Campaign
    from crm.services import campaign_create, campaign_start

    if not settings.ENABLE_CRM or Campaign.objects.filter(name="Come back: 20 % off").exists():
        return False
    campaign = campaign_create(name="Come back: 20 % off", created_by="@demo_admin", offer_percent_bp=2000,
                               segments=["at_risk", "churned", "dormant"],
                               offer_valid_hours=72, text="We miss you! 20 % off your next month, for three days.")
    campaign_start(campaign_id=campaign.pk)
    return True


def _send_waiting() -> None:
    """What the notifications' job would send next (the campaign's messages), sent now into the
    void: nothing of the made-up history reaches a chat after the shop starts."""
    from notifications.services import notification_process

    notification_process()


def _crm_recompute() -> None:
    """The CRM's profiles and segments as the hourly job would leave them."""
    from crm.services import profiles_recompute

    if settings.ENABLE_CRM:
        profiles_recompute(make_offers=False)


def _backup() -> bool:
    """One backup of the demo's database (the record and its file), when the database's own
    dump tool is at hand; the demo is whole without it."""
    from backups.services import backup_create

    try:
        backup_create(requested_by="demo_data")
    except Exception as exc:  # noqa: BLE001 - e.g. pg_dump missing: said and skipped
        log.warning("demo_data: no backup made (%s)", exc)
        return False
    return True


# --- starting over ---------------------------------------------------------------------------------

def _hangs_on_customers() -> list[type[models.Model]]:
    """Every model with rows that hang on customers or plans (directly or through each other)."""
    roots = {Customer, Plan}
    chosen = set(roots)
    grew = True
    while grew:
        grew = False
        for model in apps.get_models():
            if model in chosen or model._meta.app_label in ("auth", "admin", "contenttypes", "sessions"):
                continue
            if any(f.is_relation and f.many_to_one and f.related_model in chosen for f in model._meta.concrete_fields):
                chosen.add(model)
                grew = True
    return list(chosen)


def demo_reset() -> int:
    """Forget every customer, plan and what hangs on them, and the local chat's conversations;
    returns how many rows went. Rows another row still protects are deleted once that one is."""
    remaining = _hangs_on_customers()
    removed = 0
    while remaining:
        progress = False
        for model in list(remaining):
            try:
                count, _by_model = model._base_manager.all().delete()
            except (ProtectedError, RestrictedError):
                continue
            removed += count
            remaining.remove(model)
            progress = True
        if not progress:
            raise RuntimeError("These tables protect each other and cannot be emptied: "
                               + ", ".join(m._meta.label for m in remaining))
    from crm.models import Campaign

    removed += Campaign.objects.filter(created_by="@demo_admin").delete()[0]  # the demo's, made again
    get_store().reset()
    return removed
