"""The update inbox: store, claim, process, retry."""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import threading
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import TelegramUpdate

log = logging.getLogger(__name__)

_KINDS = ("message", "edited_message", "callback_query", "channel_post", "edited_channel_post",
          "inline_query", "chosen_inline_result", "my_chat_member", "chat_member", "pre_checkout_query",
          "shipping_query", "poll", "poll_answer", "chat_join_request", "message_reaction")


class InvalidUpdate(ValueError):
    pass


def update_validate(payload: object) -> dict:
    if not isinstance(payload, dict):
        raise InvalidUpdate("the body must be a JSON object")
    update_id = payload.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        raise InvalidUpdate("update_id must be an integer")
    if not -(2**63) <= update_id < 2**63:
        raise InvalidUpdate("update_id is out of range")
    return payload


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidUpdate(f"number out of range: {text[:20]}")
    return value


def _no_constant(name: str):
    raise InvalidUpdate(f"{name} is not valid JSON")


# A NUL character or half a surrogate pair: valid JSON escapes, but no database stores them as
# text (PostgreSQL's jsonb refuses them outright).
_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _storable(value):
    if isinstance(value, str):
        return "".join("\ufffd" if ch == "\0" or "\ud800" <= ch <= "\udfff" else ch for ch in value)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def update_parse(body: bytes) -> dict:
    """The update in a webhook body, ready to store; InvalidUpdate for anything else.

    JSON that no database would store is refused (NaN, Infinity, numbers out of range) or
    repaired (NUL characters and lone surrogates in strings become U+FFFD), so a body that
    passes never fails at the INSERT."""
    try:
        payload = update_validate(json.loads(body, parse_constant=_no_constant, parse_float=_finite_float))
        if _UNSTORABLE.search(body):
            payload = _storable(payload)
    except InvalidUpdate:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidUpdate(str(exc)[:200]) from exc
    return payload


def _describe(payload: dict) -> tuple[str, int | None, int | None]:
    kind = next((k for k in _KINDS if k in payload), "other")
    body = payload.get(kind) if isinstance(payload.get(kind), dict) else {}
    sender = body.get("from") if isinstance(body.get("from"), dict) else {}
    chat = body.get("chat") if isinstance(body.get("chat"), dict) else {}
    if not chat and isinstance(body.get("message"), dict):
        chat = body["message"].get("chat") if isinstance(body["message"].get("chat"), dict) else {}

    def as_id(value):
        return value if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63 else None

    return kind, as_id(chat.get("id")), as_id(sender.get("id"))


def inbox_receive(*, payload: dict) -> tuple[TelegramUpdate | None, bool]:
    """Store a validated update; (row, True) when new, (None, False) for a duplicate.

    Outside a transaction this is one INSERT in autocommit (no BEGIN/COMMIT round trips on the
    acknowledgement path); inside one, a savepoint keeps a duplicate from breaking it."""
    kind, chat_id, user_id = _describe(payload)
    row = TelegramUpdate(update_id=payload["update_id"], kind=kind, chat_id=chat_id, user_id=user_id, payload=payload)
    conn = transaction.get_connection()
    try:
        if conn.in_atomic_block:
            with transaction.atomic():
                row.save(force_insert=True)
            return row, True
        return (row, True) if _insert_autocommit(conn, row) else (None, False)
    except IntegrityError:
        return None, False


def _insert_autocommit(conn, row: TelegramUpdate) -> bool:
    # Django's per-request connection health check costs a SELECT 1 round trip, as much as the
    # INSERT itself. The INSERT is its own check: on a broken connection it fails before
    # anything is stored, and it is tried once more on a fresh connection. (If the first one
    # was in fact stored, the second is a duplicate and the requeue job processes the row.)
    conn.health_check_done = True
    insert = _insert_postgresql if conn.vendor == "postgresql" else _insert_orm
    try:
        return insert(conn, row)
    except (OperationalError, InterfaceError):
        log.warning("database connection broken on the acknowledgement path; reconnecting", exc_info=True)
        conn.close()
        return insert(conn, row)


def _insert_orm(conn, row: TelegramUpdate) -> bool:
    row.save(force_insert=True)
    return True


_PG_COLUMNS = "(update_id, kind, chat_id, user_id, payload, status, attempts, error, received_at)"
_PG_VALUES = "(%s, %s, %s, %s, %s, 'received', 0, '', %s)"
# Most rows one INSERT stores for the request threads of a process that arrive together.
GROUP_INSERT_MAX = 32


class _Waiting:
    __slots__ = ("row", "done", "settled", "created", "error")

    def __init__(self, row: TelegramUpdate):
        self.row, self.done, self.settled, self.created, self.error = row, False, False, False, None


class _GroupInsert:
    """Group commit for the acknowledgement path (PostgreSQL).

    A request thread that finds no INSERT in flight in its process stores every row waiting
    at that moment with one multi-row INSERT (on its own connection), then wakes the others;
    a thread that arrives while one is in flight waits for the next. When the bot is quiet
    that is one row per INSERT, as before; in a burst a few rows share the statement, the
    commit and its WAL flush. Each thread still answers only once its row is committed."""

    def __init__(self):
        self.cond = threading.Condition()
        self.waiting: list[_Waiting] = []
        self.storing = False

    def insert(self, conn, row: TelegramUpdate) -> bool:
        me = _Waiting(row)
        batch = None
        with self.cond:
            self.waiting.append(me)
            while not me.done:
                if not self.storing:  # lead: store this thread's row and the oldest others waiting
                    self.storing = True
                    self.waiting.remove(me)
                    batch = [me, *self.waiting[:GROUP_INSERT_MAX - 1]]
                    del self.waiting[:GROUP_INSERT_MAX - 1]
                    break
                self.cond.wait()
        if batch is not None:
            try:
                _store_rows(conn, batch)
            finally:
                with self.cond:
                    for waiting in batch:
                        if not waiting.settled and waiting.error is None:  # never answer 200 for a row not stored
                            waiting.error = OperationalError("the update could not be stored")
                        waiting.done = True
                    self.storing = False
                    self.cond.notify_all()
        if me.error is not None:
            raise me.error
        return me.created


def _store_rows(conn, batch: list[_Waiting]) -> None:
    try:
        _pg_insert(conn, batch)
    except (OperationalError, InterfaceError) as exc:  # a broken connection: every thread retries
        for waiting in batch:
            waiting.error = exc
    except Exception:  # noqa: BLE001 - one row the database refuses must not fail the others
        if len(batch) == 1:
            batch[0].error = sys.exc_info()[1]
            return
        for waiting in batch:
            try:
                _pg_insert(conn, [waiting])
            except Exception as exc:  # noqa: BLE001 - raised in that row's own request thread
                waiting.error = exc


def _pg_insert(conn, batch: list[_Waiting]) -> None:
    """One prepared INSERT with server-side parameters: the ORM's compilation and psycopg's
    client-side quoting of the payload cost more CPU than the database's work. A duplicate
    returns no id instead of raising."""
    from psycopg import Cursor  # PostgreSQL only: a MariaDB or SQLite shop never loads psycopg
    from psycopg.types.json import Jsonb
    from psycopg.types.numeric import Int8

    def as_int8(value):  # one statement type whatever the values
        return None if value is None else Int8(value)

    conn.ensure_connection()
    now = timezone.now()
    params = []
    for waiting in batch:
        row = waiting.row
        row.received_at = now
        params += [Int8(row.update_id), row.kind, as_int8(row.chat_id), as_int8(row.user_id), Jsonb(row.payload), now]
    sql = (f"INSERT INTO {TelegramUpdate._meta.db_table} {_PG_COLUMNS} VALUES {', '.join([_PG_VALUES] * len(batch))} "
           "ON CONFLICT (update_id) DO NOTHING RETURNING id, update_id")
    with conn.wrap_database_errors, Cursor(conn.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        stored = dict((update_id, pk) for pk, update_id in cursor.fetchall())
    for waiting in batch:
        waiting.settled = True  # stored now, or already stored (a duplicate)
        pk = stored.pop(waiting.row.update_id, None)  # the same update twice in one batch: the first is new
        if pk is not None:
            waiting.row.pk = pk
            waiting.row._state.adding, waiting.row._state.db = False, conn.alias
            waiting.created = True


_group_insert = _GroupInsert()


def _insert_postgresql(conn, row: TelegramUpdate) -> bool:
    return _group_insert.insert(conn, row)


def inbox_process_many(*, inbox_ids: list[int]) -> dict[int, str | None]:
    """Claim a batch of stored updates and run them through the handlers, in order, in one
    event loop. Returns each id's final status, None for one another worker has or that is
    already done. One failing update does not stop the others: a handler's error marks its
    row failed; a row whose outcome could not be recorded is left for the requeue job."""
    from .application import process_payloads  # PTB loads in the worker only, never in the web process

    results: dict[int, str | None] = dict.fromkeys(inbox_ids)
    claimed = _inbox_claim(inbox_ids)
    if not claimed:
        return results

    def finish(inbox_id: int, error: str | None) -> None:
        status = TelegramUpdate.Status.FAILED if error else TelegramUpdate.Status.DONE
        if error:
            log.warning("update %s failed: %s", inbox_id, error.strip().splitlines()[-1])
        TelegramUpdate.objects.filter(pk=inbox_id).update(status=status, error=error or "", finished_at=timezone.now())
        results[inbox_id] = status

    process_payloads(claimed, finish)
    return results


def inbox_process(*, inbox_id: int) -> str | None:
    """Claim one stored update and run it through the handlers (see inbox_process_many)."""
    return inbox_process_many(inbox_ids=[inbox_id])[inbox_id]


def _inbox_claim(inbox_ids: list[int]) -> list[tuple[int, dict]]:
    """Mark the given rows processing; (id, payload) of those this call claimed, in the given order.

    Each row is claimed by its own conditional UPDATE, so two workers handed the same id
    can never both get it; the payloads then come in one query."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TELEGRAM_PROCESSING_TIMEOUT)
    claimable = Q(status=TelegramUpdate.Status.RECEIVED) | Q(status=TelegramUpdate.Status.PROCESSING, started_at__lt=stale)
    mine = [
        inbox_id for inbox_id in dict.fromkeys(inbox_ids)
        if TelegramUpdate.objects.filter(claimable, pk=inbox_id)
        .update(status=TelegramUpdate.Status.PROCESSING, started_at=now, attempts=F("attempts") + 1)
    ]
    payloads = dict(TelegramUpdate.objects.filter(pk__in=mine).values_list("pk", "payload"))
    return [(inbox_id, payloads[inbox_id]) for inbox_id in mine if inbox_id in payloads]


def inbox_retry(*, inbox_ids: list[int]) -> list[int]:
    """Put failed updates back in the queue; returns the ids to enqueue."""
    ids = list(
        TelegramUpdate.objects.filter(pk__in=inbox_ids, status=TelegramUpdate.Status.FAILED).values_list("pk", flat=True)
    )
    TelegramUpdate.objects.filter(pk__in=ids).update(status=TelegramUpdate.Status.RECEIVED, attempts=0, error="")
    return ids


def inbox_requeue_stale(*, now=None) -> list[int]:
    """Updates whose processing was lost (a crashed worker, a broker that was down):
    the ones still worth another try are returned for enqueueing; the others fail visibly."""
    now = now or timezone.now()
    lost_received = Q(status=TelegramUpdate.Status.RECEIVED, received_at__lt=now - timedelta(seconds=60))
    lost_processing = Q(
        status=TelegramUpdate.Status.PROCESSING,
        started_at__lt=now - timedelta(seconds=settings.TELEGRAM_PROCESSING_TIMEOUT),
    )
    stale = TelegramUpdate.objects.filter(lost_received | lost_processing)
    give_up = stale.filter(attempts__gte=settings.TELEGRAM_MAX_ATTEMPTS)
    give_up.update(
        status=TelegramUpdate.Status.FAILED, finished_at=now,
        error=f"gave up: processing was lost {settings.TELEGRAM_MAX_ATTEMPTS} times (worker crash or timeout)",
    )
    return list(stale.filter(attempts__lt=settings.TELEGRAM_MAX_ATTEMPTS).values_list("pk", flat=True)[:1000])


def inbox_purge(*, older_than_days: int = 30) -> int:
    """Delete processed updates older than the given age."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return TelegramUpdate.objects.filter(status=TelegramUpdate.Status.DONE, received_at__lt=cutoff).delete()[0]
