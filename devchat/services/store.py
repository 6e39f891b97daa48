"""The local stand-in's memory: every chat's messages (what the bot sent through the Bot API
and what the page's people sent), the bot's answers to button presses and its refused calls,
the files, and the people of the page.

Kept as files under LOCAL_CHAT_DIR, not in the shop's database: the web processes and the worker
of one machine share them under a file lock, and a handler that calls the Bot API inside an
open transaction never waits for its own stand-in to get the database (SQLite has one writer).
A chat is an append-only log of events (a message, an edit, a deletion, an answer, an error),
each with a number that grows across all chats; its current state is the log folded."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

# Telegram's update ids are in the hundreds of millions: the page's start far above them, so an
# update of the page is never taken for one a real bot received earlier (the inbox keys on it).
FIRST_UPDATE_ID = 10**12


@dataclass
class ChatState:
    """A chat folded: its messages by id (oldest first), the answers and refusals after `after`,
    and the number of the newest event."""

    messages: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    seq: int = 0


class Store:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    # -- locking and counters -------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[dict]:
        """The store under its lock, with its state (counters and people) to read and change:
        saved when the block ends."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self._read_state()
                before = json.dumps(state, sort_keys=True)
                yield state
                if json.dumps(state, sort_keys=True) != before:
                    self._write_json(self.root / "state.json", state)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_state(self) -> dict:
        try:
            state = json.loads((self.root / "state.json").read_text())
        except (FileNotFoundError, ValueError):
            state = {}
        state.setdefault("seq", 0)
        state.setdefault("update_id", FIRST_UPDATE_ID)
        state.setdefault("files", 0)
        state.setdefault("callbacks", 0)
        state.setdefault("message_ids", {})
        state.setdefault("users", {})
        return state

    @staticmethod
    def _write_json(path: Path, data) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False))
        os.replace(tmp, path)

    @staticmethod
    def next_number(state: dict, name: str) -> int:
        state[name] = int(state[name]) + 1
        return state[name]

    @staticmethod
    def next_message_id(state: dict, chat_id: int) -> int:
        """Message ids of a private chat: one sequence for both sides, as in Telegram."""
        key = str(chat_id)
        state["message_ids"][key] = int(state["message_ids"].get(key, 0)) + 1
        return state["message_ids"][key]

    # -- the chats' logs ---------------------------------------------------------------------------
    def _log(self, chat_id: int) -> Path:
        return self.root / "chats" / f"{int(chat_id)}.jsonl"

    def append(self, state: dict, chat_id: int, event: dict) -> dict:
        """Add an event to a chat's log (under the lock); returns it with its number and time."""
        event = {"seq": self.next_number(state, "seq"), "at": time.time(), **event}
        path = self._log(chat_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(event, ensure_ascii=False) + "\n")
        return event

    def events(self, chat_id: int) -> list[dict]:
        try:
            lines = self._log(chat_id).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:  # a line being written while read: it is read next time
                continue
        return events

    def messages(self, chat_id: int) -> dict[int, dict]:
        return fold(self.events(chat_id)).messages_by_id

    def chat(self, chat_id: int, *, after: int = 0, limit: int = 200) -> ChatState:
        folded = fold(self.events(chat_id))
        messages = [m for m in folded.messages_by_id.values() if not m.get("deleted")][-limit:]
        return ChatState(messages=messages, notes=[n for n in folded.notes if n["seq"] > after], seq=folded.seq)

    def chat_ids(self) -> list[int]:
        """The chats with anything in them, the latest active first."""
        folder = self.root / "chats"
        if not folder.exists():
            return []
        logs = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [int(p.stem) for p in logs if p.stem.lstrip("-").isdigit()]

    # -- files -------------------------------------------------------------------------------------------
    def put_file(self, state: dict, content: bytes, *, kind: str, name: str, mime: str, unique_id: str,
                 width: int = 0, height: int = 0) -> dict:
        """Keep a file's bytes (under the lock); returns its record (file_id, file_path, ...)."""
        number = self.next_number(state, "files")
        suffix = Path(name).suffix[:10] if name else ""
        path = f"{kind}/file_{number}{suffix}"
        record = {"file_id": f"LOCAL{kind[:3].upper()}{number:08d}{os.urandom(4).hex()}", "file_unique_id": unique_id,
                  "file_path": path, "file_size": len(content), "file_name": name, "mime_type": mime,
                  "width": width, "height": height}
        target = self.root / "files" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        self._write_json(self.root / "meta" / f"{record['file_id']}.json", record)
        return record

    def file(self, file_id: str) -> dict | None:
        if not file_id or not file_id.isalnum():
            return None
        try:
            return json.loads((self.root / "meta" / f"{file_id}.json").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def file_bytes(self, file_path: str) -> bytes | None:
        """A file's bytes by its file_path, None when there is none (or the path leaves the folder)."""
        base = (self.root / "files").resolve()
        target = (base / file_path).resolve()
        if base not in target.parents or not target.is_file():
            return None
        return target.read_bytes()

    def reset(self) -> None:
        """Forget every chat, file and person of the page."""
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Folded:
    messages_by_id: dict[int, dict]
    notes: list[dict]
    seq: int


def fold(events: list[dict]) -> Folded:
    """A chat's log as its current state: messages with their edits applied (a deleted one
    marked), the answers and errors in order, the newest event's number."""
    messages: dict[int, dict] = {}
    notes: list[dict] = []
    seq = 0
    for event in events:
        seq = max(seq, int(event.get("seq", 0)))
        kind = event.get("type")
        if kind == "message":
            message = dict(event["message"])
            messages[int(message["message_id"])] = message
        elif kind in ("edit", "delete"):
            message = messages.get(int(event.get("message_id", 0)))
            if message is None:
                continue
            if kind == "edit":
                changes = event.get("changes") or {}
                message.update(changes)
                if set(changes) - {"pinned"}:  # a pin is not an edit of the message
                    message["edit_date"] = int(event["at"])
            else:
                message["deleted"] = True
        else:
            notes.append(event)
    return Folded(messages, notes, seq)


def get_store() -> Store:
    return Store(settings.LOCAL_CHAT_DIR)
