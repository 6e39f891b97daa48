"""Near-duplicate receipts: the image downloaded from Telegram after submit (a task), its
perceptual hash (imagehash's pHash: 64 bits that survive a re-save, a resize or a small
crop), and the other customers' receipts within the rule's Hamming distance, found through
the four indexed 16-bit bands (multi-index hashing: within 7 bits, some band is at most 1 bit
off, so each band is looked up with its 17 neighbours; no scan of the table)."""

from __future__ import annotations

import io
import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import translation
from django.utils.translation import gettext as _

from vpnbot.shop import risk
from vpnbot.shop import services as shop
from vpnbot.shop.formatting import money
from vpnbot.shop.models import Payment
from vpnbot.transport import messages

from .. import rules
from ..models import ReceiptFingerprint, RiskCase
from .assess import action_for, case_record

log = logging.getLogger(__name__)
BANDS = 4
MAX_CANDIDATES = 50


def image_phash(content: bytes) -> int:
    """The 64-bit perceptual hash of an image; ValueError for what is not one."""
    import imagehash  # numpy and scipy load only in the worker that hashes
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            return int(str(imagehash.phash(image)), 16)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not an image: {exc}") from None


def bands(value: int) -> list[int]:
    return [(value >> (16 * i)) & 0xFFFF for i in range(BANDS)]


def _near(band: int) -> list[int]:
    return [band] + [band ^ (1 << bit) for bit in range(16)]


def _distance_sql(vendor: str) -> str | None:
    """The Hamming distance of the stored hash to the parameter, computed by the database (so
    the nearest come first whatever the number of band candidates), or None (SQLite: Python)."""
    if vendor == "postgresql":
        return "bit_count(('x' || phash)::bit(64) # (%s)::bigint::bit(64))"
    if vendor == "mysql":
        return "BIT_COUNT(CAST(CONV(phash, 16, 10) AS UNSIGNED) ^ CAST(%s AS UNSIGNED))"
    return None


def similar_receipts(value: int, *, exclude_customer_id: int, max_distance: int) -> list[tuple[int, int]]:
    """(payment id, distance) of other customers' receipts within max_distance bits (at most 7
    are guaranteed to be found), nearest first. The bands find the candidates with indexed
    lookups; the distance is filtered and ordered by the database where it can, so a crowded
    band (receipts of one bank app) never hides the near-duplicate behind the first few rows."""
    query = Q()
    for i, band in enumerate(bands(value)):
        query |= Q(**{f"band{i}__in": _near(band)})
    candidates = ReceiptFingerprint.objects.filter(query).exclude(customer_id=exclude_customer_id)
    distance_sql = _distance_sql(connection.vendor)
    if distance_sql is not None:
        signed = value - (1 << 64) if value >= 1 << 63 else value
        param = signed if connection.vendor == "postgresql" else value
        rows = (candidates.annotate(distance=RawSQL(distance_sql, (param,)))
                .filter(distance__lte=max_distance).order_by("distance", "payment_id")
                .values_list("payment_id", "distance")[:MAX_CANDIDATES])
        return [(payment_id, int(distance)) for payment_id, distance in rows]
    found = []
    for payment_id, phash in candidates.values_list("payment_id", "phash").iterator(chunk_size=2000):
        distance = (int(phash, 16) ^ value).bit_count()
        if distance <= max_distance:
            found.append((payment_id, distance))
    return sorted(found, key=lambda pair: (pair[1], pair[0]))[:MAX_CANDIDATES]


def receipt_fingerprint(*, payment_id: int) -> risk.Verdict | None:
    """Hash a submitted receipt's image once, keep it, and when another customer's receipt is a
    near-duplicate, add the hit to its case and to the receipt (the review messages show it).
    Raises the message port's TelegramError when the image cannot be fetched (the task decides)."""
    payment = Payment.objects.select_related("customer").filter(pk=payment_id).first()
    if payment is None or not settings.ENABLE_ANTIFRAUD or ReceiptFingerprint.objects.filter(payment=payment).exists():
        return None
    content = messages.download_file(payment.receipt_file_id, max_bytes=settings.ANTIFRAUD_MAX_IMAGE_BYTES)
    try:
        value = image_phash(content)
    except ValueError as exc:
        log.info("receipt %s not fingerprinted: %s", payment_id, exc)
        return None
    try:
        with transaction.atomic():
            ReceiptFingerprint.objects.create(payment=payment, customer=payment.customer, phash=f"{value:016x}",
                                              **{f"band{i}": band for i, band in enumerate(bands(value))})
    except IntegrityError:
        return None  # hashed by another run meanwhile
    rule = rules.enabled_rules().get("similar_photo")
    if rule is None or payment.status == Payment.Status.REJECTED:
        return None
    near = similar_receipts(value, exclude_customer_id=payment.customer_id, max_distance=min(rule.param("max_distance"), 7))
    if not near:
        return None
    other, distance = near[0]
    with translation.override(settings.LANGUAGE_CODE):
        hit = rules.Hit(rule.key, rule.score, _("photo nearly the same as payment #%(id)s by another customer "
                                                "(%(bits)s of 64 bits differ)") % {"id": other, "bits": distance})
    if payment.status == Payment.Status.APPROVED:
        return _approved_before_checked(payment, hit, other)
    with transaction.atomic():
        case = case_record(subject="payment", subject_id=payment.pk, customer=payment.customer, hits=[hit],
                           amount=payment.amount)
        verdict = risk.Verdict(action=action_for(case.score), score=case.score, reasons=tuple(case.reasons),
                               case_id=case.pk)
        shop.payment_risk_update(payment_id=payment.pk, verdict=verdict)
    return verdict


def _approved_before_checked(payment: Payment, hit: rules.Hit, other_id: int) -> risk.Verdict:
    """The receipt was approved (and credited) before its image was checked: the case is
    flagged, never held (the money is in the wallet), and the admins are told once."""
    with transaction.atomic():
        case = case_record(subject="payment", subject_id=payment.pk, customer=payment.customer, hits=[hit],
                           amount=payment.amount, ceiling=RiskCase.Status.FLAGGED)
        payment_id, amount = payment.pk, payment.amount
        messages.notify_admins(
            lambda: _("⚠️ Receipt #%(id)s (%(amount)s) was approved before its photo was checked: it nearly matches "
                      "payment #%(other)s by another customer. Review it: Anti-fraud → Risk cases #%(case)s.")
            % {"id": payment_id, "amount": money(amount), "other": other_id, "case": case.pk},
            kind="risk_alert", dedup_key=f"risk-late:{payment_id}")
    return risk.Verdict(action=risk.FLAG, score=case.score, reasons=tuple(case.reasons), case_id=case.pk)
