"""The configs of a purchase as one file: sent to the reseller once every account of a bulk
purchase has its config, and made again on demand (the bot's button, the API)."""

from __future__ import annotations

import csv
import io

from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop.formatting import format_date
from vpnbot.transport import messages

from ..models import Account, Batch


def batch_complete_for(subscription_id) -> int | None:
    """The bulk purchase whose last config this subscription's was, if its file is not sent yet."""
    account = Account.objects.select_related("batch").filter(first_subscription_id=subscription_id).first()
    if account is None or account.batch.quantity < 2 or account.batch.file_sent_at is not None:
        return None
    missing = Account.objects.filter(batch_id=account.batch_id, first_subscription__config="").exists()
    return None if missing else account.batch_id


def batch_file(*, batch: Batch) -> tuple[str, bytes]:
    """(file name, CSV bytes): label, plan, expiry and config of each account of the purchase,
    as they are now (a renewed account shows its latest end). UTF-8 with a BOM for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["account", "label", "plan", "expires_at", "config"])
    accounts = batch.accounts.select_related("subscription__plan", "reseller__customer").order_by("pk")
    for account in accounts:
        sub = account.subscription
        writer.writerow([account.pk, _safe(account.label), sub.plan.name, sub.expires_at.isoformat(),
                         sub.config or account.first_subscription.config])
    return f"accounts-{batch.pk}.csv", ("\ufeff" + buffer.getvalue()).encode()


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def batch_send_file(*, batch_id: int) -> bool:
    """Send the purchase's file to the reseller once (claimed first: two deliveries finishing
    together send one). A failed upload gives the claim back and raises."""
    if not Batch.objects.filter(pk=batch_id, file_sent_at__isnull=True).update(file_sent_at=timezone.now()):
        return False
    batch = Batch.objects.select_related("reseller__customer", "plan").get(pk=batch_id)
    name, content = batch_file(batch=batch)
    customer = batch.reseller.customer
    caption = _("📦 The configs of your %(quantity)s × %(plan)s accounts (purchase #%(id)s, %(date)s).") % {
        "quantity": batch.quantity, "plan": batch.plan.name, "id": batch.pk, "date": format_date(batch.created_at, customer)}
    try:
        messages.send_document(customer.telegram_id, name, io.BytesIO(content), caption)
    except Exception:
        Batch.objects.filter(pk=batch_id).update(file_sent_at=None)
        raise
    return True
