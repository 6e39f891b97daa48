"""The anti-fraud operations by subject: assess (the risk check the shop consults, the cases),
fingerprints (near-duplicate receipt images), decisions (release, confirm, ban, whitelist),
summary (the admins' daily message)."""

from .assess import action_for, active_ban, case_record, duplicate_photo, risk_check
from .decisions import (
    AntifraudError,
    ban_gate,
    ban_refusal,
    case_confirm,
    case_release,
    customer_ban,
    customer_unban,
    customer_unwhitelist,
    customer_whitelist,
)
from .fingerprints import image_phash, receipt_fingerprint, similar_receipts
from .summary import risk_summary, risk_summary_send

__all__ = [
    "AntifraudError", "action_for", "active_ban", "ban_gate", "ban_refusal", "case_confirm", "case_record", "case_release",
    "customer_ban", "customer_unban", "customer_unwhitelist", "customer_whitelist", "duplicate_photo", "image_phash",
    "receipt_fingerprint", "risk_check", "risk_summary", "risk_summary_send", "similar_receipts",
]
