"""Admin commands for backups: /backup_status, /create_backup, /list_backups, /restore_backup,
/cleanup_backups, /backup_help, /test_backup. Long operations run as Celery tasks that edit a
progress message in place; destructive ones need a signed confirmation button."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from vpnbot.core.numbers import parse_whole_number
from vpnbot.transport.bot import BotContext, add_callback, add_command

from . import reporting, selectors, services, tasks

PAGE = 10
RESTORE_CONFIRM_SECONDS = 60
CLEANUP_CONFIRM_SECONDS = 300


def _sign(ctx: BotContext, *parts) -> str:
    return salted_hmac("backups.confirm", ":".join(map(str, (*parts, ctx.user_id)))).hexdigest()[:16]


def _who(ctx: BotContext) -> str:
    name = f"@{ctx.user.username}" if ctx.user and ctx.user.username else ""
    return f"telegram:{ctx.user_id}{' ' + name if name else ''}"


def _queue(ctx: BotContext, operation: str, text: str, backup_id: int | None = None, *, edit: bool = False) -> None:
    message = ctx.edit(text) if edit else ctx.reply(text)
    message_id = (message or {}).get("message_id")
    if edit and not message_id and ctx.callback and ctx.callback.message:
        message_id = ctx.callback.message.message_id
    transaction.on_commit(lambda: tasks.run_for_chat.delay(
        operation, ctx.chat_id, message_id, _who(ctx), ctx.language, backup_id))


def _busy(ctx: BotContext, *, edit: bool = False) -> bool:
    holder = services.lock_holder()
    if holder:
        text = _("⏳ A backup operation is already running (%(what)s). Try again when it has finished.") % {
            "what": holder.holder}
        ctx.edit(text, parse_mode=None) if edit else ctx.reply(text, parse_mode=None)
        return True
    return False


def backup_status(ctx: BotContext) -> None:
    ctx.reply(reporting.status_text(services.backup_status()))


def create_backup(ctx: BotContext) -> None:
    if not _busy(ctx):
        _queue(ctx, "create", _("⏳ Starting the backup…"))


def test_backup(ctx: BotContext) -> None:
    if not _busy(ctx):
        _queue(ctx, "test", _("⏳ Testing: making a backup, then restoring it into a scratch database…"))


def _list_page(page: int) -> tuple[str, list]:
    rows, page, pages, total = selectors.backups_page(page, per_page=PAGE)
    if not total:
        return _("There are no backups yet. Make one with /create_backup."), []
    lines = [_("<b>Backups</b> (page %(page)s of %(pages)s)") % {"page": page, "pages": pages}, ""]
    lines += [reporting.backup_line(b) for b in rows]
    lines += ["", _("✅ verified · ☑️ made · ❌ failed · 🔒 encrypted")]
    nav = []
    if page > 1:
        nav.append(("◀️", f"bk:list:{page - 1}"))
    if page < pages:
        nav.append(("▶️", f"bk:list:{page + 1}"))
    return "\n".join(lines), [nav] if nav else []


def list_backups(ctx: BotContext) -> None:
    page = parse_whole_number(ctx.args[0], max_digits=6) if ctx.args else 1
    if page is None:
        ctx.reply(_("Usage: /list_backups [page number]"), parse_mode=None)
        return
    text, buttons = _list_page(page)
    ctx.reply(text, buttons=buttons or None)


def restore_backup(ctx: BotContext) -> None:
    if len(ctx.args) != 1:
        ctx.reply(_("Usage: /restore_backup <number>. See the numbers with /list_backups."), parse_mode=None)
        return
    try:
        backup = services.backup_get(backup_id=ctx.args[0])
    except services.BackupError as exc:
        ctx.reply(str(exc), parse_mode=None)
        return
    if not backup.is_usable:
        ctx.reply(_("Backup #%(id)s cannot be restored (status: %(status)s).") % {"id": backup.pk,
                                                                                  "status": backup.status})
        return
    ts = int(time.time())
    text = _(
        "♻️ <b>Restore backup #%(id)s?</b>\n%(line)s\n\n"
        "This replaces the whole current database with the backup. First the file's checksum is checked, "
        "then a safety backup of the current database is taken, then the backup is restored. Everything "
        "that happened since the backup was made (orders, payments, new customers) is lost from the "
        "database, but stays in the safety backup.\n\nPress the button within %(seconds)s seconds to confirm."
    ) % {"id": backup.pk, "line": reporting.backup_line(backup), "seconds": RESTORE_CONFIRM_SECONDS}
    data = f"bk:rs:{backup.pk}:{ts}:{_sign(ctx, 'rs', backup.pk, ts)}"
    ctx.reply(text, buttons=[[(_("♻️ Restore #%(id)s") % {"id": backup.pk}, data)], [(_("Cancel"), "bk:no")]])


def cleanup_backups(ctx: BotContext) -> None:
    plan = services.backup_cleanup_plan()
    if not plan:
        ctx.reply(_("Nothing to clean up: every backup is within the retention rules."), parse_mode=None)
        return
    lines = [_("🗑 <b>These %(n)s backups would be deleted</b> (%(size)s):") % {
        "n": len(plan), "size": reporting.fmt_size(sum(b.size_bytes for b in plan))}, ""]
    lines += [reporting.backup_line(b) for b in plan[:30]]
    if len(plan) > 30:
        lines.append(_("… and %(n)s more") % {"n": len(plan) - 30})
    lines += ["", _("Rules: keep %(d)s daily, %(w)s weekly, %(m)s monthly; others for %(days)s days; the newest "
                    "verified backup is always kept.") % {
        "d": settings.BACKUP_KEEP_DAILY, "w": settings.BACKUP_KEEP_WEEKLY, "m": settings.BACKUP_KEEP_MONTHLY,
        "days": settings.BACKUP_RETENTION_DAYS}]
    ts = int(time.time())
    digest = services.plan_digest(plan)
    data = f"bk:cl:{ts}:{digest}:{_sign(ctx, 'cl', digest, ts)[:12]}"
    ctx.reply("\n".join(lines), buttons=[[(_("🗑 Delete %(n)s backups") % {"n": len(plan)}, data)],
                                         [(_("Cancel"), "bk:no")]])


def backup_help(ctx: BotContext) -> None:
    ctx.reply("\n".join([
        "<b>" + _("Backups") + "</b>",
        "/backup_status — " + _("last backups, failures, disk space, warnings"),
        "/create_backup — " + _("make a backup now"),
        "/list_backups — " + _("all backups, newest first"),
        "/restore_backup &lt;n&gt; — " + _("replace the database with backup n (asks first)"),
        "/cleanup_backups — " + _("delete old backups by the retention rules (asks first)"),
        "/test_backup — " + _("make a backup and prove it restores"),
        "/backup_help — " + _("this help"),
        "",
        _("Backups run daily, weekly and monthly on their own; when the bot is down use "
          "manage.py backup_create, backup_list, backup_restore, backup_verify, backup_cleanup."),
    ]))


def _expired(ts: str, seconds: int) -> bool:
    return not 0 <= time.time() - int(ts) <= seconds


def list_page(ctx: BotContext) -> None:
    """bk:list:<page> (◀️ / ▶️ under /list_backups)."""
    text, buttons = _list_page(int(ctx.match.group(1)))
    ctx.edit(text, buttons=buttons or None)


def cancel(ctx: BotContext) -> None:
    """bk:no (Cancel under a restore or cleanup confirmation)."""
    ctx.edit(_("Cancelled."), parse_mode=None)


def confirm_restore(ctx: BotContext) -> None:
    """bk:rs:<backup id>:<unix time>:<signature> (the restore confirmation button)."""
    backup_id, ts, sig = ctx.match.groups()
    if not constant_time_compare(sig, _sign(ctx, "rs", backup_id, ts)):
        ctx.answer(_("This button is no longer valid."), alert=True)
        return
    if _expired(ts, RESTORE_CONFIRM_SECONDS):
        ctx.edit(_("The confirmation expired (60 seconds). Send /restore_backup %(id)s again.") % {"id": backup_id},
                 parse_mode=None)
        return
    if not cache.add(f"backups:confirm:{sig}", 1, timeout=RESTORE_CONFIRM_SECONDS * 2):
        ctx.answer(_("Already confirmed."), alert=True)
        return
    if _busy(ctx, edit=True):
        return
    _queue(ctx, "restore", _("♻️ Restoring backup #%(id)s…") % {"id": backup_id}, int(backup_id), edit=True)


def confirm_cleanup(ctx: BotContext) -> None:
    """bk:cl:<unix time>:<plan digest>:<signature> (the cleanup confirmation button)."""
    ts, digest, sig = ctx.match.groups()
    if not constant_time_compare(sig, _sign(ctx, "cl", digest, ts)[:12]):
        ctx.answer(_("This button is no longer valid."), alert=True)
        return
    if _expired(ts, CLEANUP_CONFIRM_SECONDS):
        ctx.edit(_("The confirmation expired. Send /cleanup_backups again."), parse_mode=None)
        return
    plan = services.backup_cleanup_plan()
    if services.plan_digest(plan) != digest:
        ctx.edit(_("The list of backups to delete has changed. Send /cleanup_backups again."), parse_mode=None)
        return
    try:
        deleted = services.backup_cleanup(only_ids={b.pk for b in plan}, requested_by=_who(ctx))
    except services.BackupError as exc:
        ctx.edit(str(exc), parse_mode=None)
        return
    ctx.edit(_("🗑 Deleted %(n)s backups.") % {"n": len(deleted)}, parse_mode=None)


def register(application) -> None:
    add_command(application, "backup_status", backup_status, admin=True)
    add_command(application, "create_backup", create_backup, admin=True)
    add_command(application, "list_backups", list_backups, admin=True)
    add_command(application, "restore_backup", restore_backup, admin=True)
    add_command(application, "cleanup_backups", cleanup_backups, admin=True)
    add_command(application, "backup_help", backup_help, admin=True)
    add_command(application, "test_backup", test_backup, admin=True)
    # one handler per button shape; the callback_data formats are the ones sent since the start
    add_callback(application, r"^bk:list:([0-9]+)$", list_page, admin=True)
    add_callback(application, r"^bk:no$", cancel, admin=True)
    add_callback(application, r"^bk:rs:([0-9]+):([0-9]+):([0-9a-f]+)$", confirm_restore, admin=True)
    add_callback(application, r"^bk:cl:([0-9]+):([0-9a-f]+):([0-9a-f]+)$", confirm_cleanup, admin=True)
