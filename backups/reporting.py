"""Texts about backups for admins (bot and management commands), and a progress reporter that
edits one Telegram message in place."""

from __future__ import annotations

import html
import time

from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from vpnbot.transport import messages

from .models import Backup

STAGES = {
    "dump": lambda: _("⏳ Dumping the database… %(size)s"),
    "upload": lambda: _("📤 Sending the copy to the backup chat…"),
    "verify": lambda: _("🔎 Restoring into a scratch database to verify…"),
    "safety": lambda: _("🛟 Taking a safety backup of the current database…"),
    "restore": lambda: _("♻️ Restoring…"),
}


def fmt_size(size: int | None) -> str:
    """A size in bytes for people: "512 B", "1.5 MB"; "?" when unknown."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def kind_label(kind: str) -> str:
    return {
        "daily": _("daily"), "weekly": _("weekly"), "monthly": _("monthly"), "manual": _("manual"),
        "safety": _("safety"), "test": _("test"),
    }.get(kind, kind)


def age(when, now=None) -> str:
    return _("%(age)s ago") % {"age": timesince(when, now or timezone.now(), depth=1)}


def backup_line(backup: Backup, now=None) -> str:
    mark = {"verified": "✅", "succeeded": "☑️", "failed": "❌", "running": "⏳"}.get(backup.status, "")
    parts = [f"{mark} #{backup.pk}", kind_label(backup.kind), fmt_size(backup.size_bytes) if backup.file_name else "—",
             age(backup.created_at, now)]
    if backup.encrypted:
        parts.append("🔒")
    return " · ".join(parts)


def status_text(status: dict, now=None) -> str:
    now = now or timezone.now()
    lines = ["<b>" + _("Backup status") + "</b>", ""]
    for kind, backup in status["last"].items():
        when = age(backup.created_at, now) + (" ✅" if backup.status == "verified" else "") if backup else _("never")
        lines.append(_("Last %(kind)s backup: %(when)s") % {"kind": kind_label(kind), "when": when})
    lines.append("")
    lines.append(_("Stored: %(count)s backups, %(size)s") % {"count": status["count"],
                                                           "size": fmt_size(status["total_size"])})
    lines.append(_("Free disk: %(free)s") % {"free": fmt_size(status["free_bytes"])})
    lines.append(_("Failures in the last 30 days: %(n)s") % {"n": status["failures_30d"]})
    if status["last_verified"]:
        lines.append(_("Newest verified: #%(id)s, %(age)s") % {"id": status["last_verified"].pk,
                                                             "age": age(status["last_verified"].created_at, now)})
    if status["running"]:
        lines.append(_("⏳ Running now: %(what)s") % {"what": html.escape(status["running"].holder)})
    for item in status["stale"]:
        when = age(item["last"], now) if item["last"] else _("never")
        lines.append(_("⚠️ The %(kind)s backup is overdue (last success: %(when)s).")
                     % {"kind": kind_label(item["kind"]), "when": when})
    return "\n".join(lines)


def created_text(backup: Backup) -> str:
    text = _("✅ Backup #%(id)s is ready: %(size)s in %(seconds)s s.\nSHA-256: <code>%(sha)s</code>") % {
        "id": backup.pk, "size": fmt_size(backup.size_bytes), "seconds": round(backup.duration_ms / 1000, 1),
        "sha": backup.checksum_sha256}
    if backup.telegram_error:
        text += "\n" + _("⚠️ The copy to the backup chat failed: %(error)s") % {
            "error": html.escape(backup.telegram_error[:300])}
    elif backup.telegram_parts:
        text += "\n" + _("📤 Copied to the backup chat in %(n)s part(s).") % {"n": backup.telegram_parts}
    return text


def verify_text(backup: Backup, report: dict) -> str:
    if report["ok"]:
        return _("✅ Backup #%(id)s verified: restored into a scratch database, %(tables)s tables and %(rows)s rows "
                 "match%(checksums)s (%(seconds)s s).") % {
            "id": backup.pk, "tables": report["tables"], "rows": report["rows"],
            "checksums": _(", checksums included") if report["checksums"] else "",
            "seconds": round(report["duration_ms"] / 1000, 1)}
    return _("❌ Backup #%(id)s did not verify:\n%(diff)s") % {
        "id": backup.pk, "diff": html.escape("\n".join(report["mismatches"][:20]))}


def restore_text(report: dict) -> str:
    biggest = sorted(report["tables"].items(), key=lambda kv: -kv[1])[:10]
    lines = [_("✅ Restored backup #%(id)s in %(seconds)s s: %(tables)s tables, %(rows)s rows.") % {
        "id": report["backup_id"], "seconds": round(report["duration_ms"] / 1000, 1),
        "tables": len(report["tables"]), "rows": report["rows"]}]
    if report["safety_backup_id"]:
        lines.append(_("The database as it was before is kept as backup #%(id)s.") % {"id": report["safety_backup_id"]})
    lines += [f"{html.escape(name)}: {rows}" for name, rows in biggest]
    if report["missing_migrations"]:
        lines.append(_("⚠️ The restored database lacks %(n)s migrations of this code: run manage.py migrate.")
                     % {"n": len(report["missing_migrations"])})
    return "\n".join(lines)


class ChatProgress:
    """Edit one message as an operation advances (at most every few seconds)."""

    def __init__(self, chat_id: int | None, message_id: int | None, interval: float = 3.0):
        self.chat_id, self.message_id, self.interval = chat_id, message_id, interval
        self.last_stage, self.last_at = None, 0.0

    def edit(self, text: str) -> None:
        if not self.chat_id:
            return
        if self.message_id:
            messages.edit_message(self.chat_id, self.message_id, text=text)
        else:
            messages.send_now(self.chat_id, text)

    def __call__(self, stage: str, done: int) -> None:
        now = time.monotonic()
        if stage == self.last_stage and now - self.last_at < self.interval:
            return
        self.last_stage, self.last_at = stage, now
        template = STAGES.get(stage)
        if template:
            self.edit(template() % {"size": fmt_size(done)} if "%(size)s" in template() else template())
