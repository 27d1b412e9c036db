"""A durable local spool: what must not be lost while the database is away (a customer's reply: Twilio never
retries an inbound SMS) is appended to a file on this machine and fsynced before the sender is answered, then
replayed, in arrival order, once the database is back.

Files in the spool directory (created 0700; the files 0600, they hold customers' words):
- `entries.jsonl`: one JSON object per line, `{"id", "kind", "received_at", "data"}`, appended under `spool.lock`
  (an flock every process on the machine shares) and fsynced; a line is an entry only once its newline is there.
- `done.txt`: the ids replayed (or set aside), one per line, fsynced: a replay that dies half way starts again
  after the last one done.
- `set-aside.jsonl`: entries whose replay failed for a reason other than the database (a bug, not an outage),
  with the error, kept for a person; the replay goes on past them.
When every entry is done, the replayer removes `entries.jsonl` and `done.txt` under the same lock, so the spool
is empty again and appends start a new file. `replay.lock` keeps two replayers (workers, the CLI) from racing.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from aftercare.core.ids import new_id

log = logging.getLogger("aftercare.spool")


class SpoolError(Exception):
    """The spool could not be written (disk full, read-only, no such directory): nothing was kept."""


@dataclass(frozen=True)
class SpoolEntry:
    id: str
    kind: str
    received_at: str
    data: dict[str, Any]

    @property
    def received(self) -> datetime:
        return datetime.fromisoformat(self.received_at)


class Spool:
    ENTRIES, DONE, SET_ASIDE = "entries.jsonl", "done.txt", "set-aside.jsonl"
    LOCK, REPLAY_LOCK = "spool.lock", "replay.lock"

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r})"

    def _path(self, name: str) -> Path:
        return self.directory / name

    @contextmanager
    def _locked(self, name: str, flags: int = fcntl.LOCK_EX) -> Iterator[bool]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._path(name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def append(self, kind: str, data: dict[str, Any], *, received_at: datetime) -> SpoolEntry:
        """Append one entry and fsync it (and the directory, when the file is new); SpoolError if that fails."""
        entry = SpoolEntry(new_id("spl"), kind, received_at.isoformat(), data)
        line = json.dumps(asdict(entry), separators=(",", ":")).encode() + b"\n"
        try:
            with self._locked(self.LOCK):
                self._append_line(self.ENTRIES, line)
        except OSError as exc:
            raise SpoolError(f"{type(exc).__name__}: {exc.strerror or exc}") from exc
        return entry

    def _append_line(self, name: str, line: bytes) -> None:
        path = self._path(name)
        new = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if not new and os.fstat(fd).st_size and os.pread(fd, 1, os.fstat(fd).st_size - 1) != b"\n":
                line = b"\n" + line  # a torn line from a crashed writer stays apart (and unread), never glued to ours
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def has_pending(self) -> bool:
        """Cheap (one stat): something is in the spool, so a new arrival must queue behind it to keep the order."""
        try:
            return self._path(self.ENTRIES).stat().st_size > 0
        except OSError:  # none yet, or a spool directory that is unusable: an append will say so
            return False

    def _lines(self, name: str) -> list[str]:
        try:
            text = self._path(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        complete, _, _torn = text.rpartition("\n")
        return [line for line in complete.split("\n") if line]

    def _entries(self, name: str) -> list[SpoolEntry]:
        entries = []
        for line in self._lines(name):
            try:
                raw = json.loads(line)
                entries.append(SpoolEntry(raw["id"], raw["kind"], raw["received_at"], raw["data"]))
            except (ValueError, KeyError, TypeError):
                log.warning("spool %s: skipped a line that is not an entry (a write torn by a crash)", name)
        return entries

    def pending(self) -> list[SpoolEntry]:
        """Entries not yet replayed, in arrival order."""
        done = set(self._lines(self.DONE))
        return [entry for entry in self._entries(self.ENTRIES) if entry.id not in done]

    def depth(self) -> int:
        return len(self.pending()) if self.has_pending() else 0

    def set_aside(self) -> list[SpoolEntry]:
        return self._entries(self.SET_ASIDE)

    def mark_done(self, entry: SpoolEntry) -> None:
        self._append_line(self.DONE, entry.id.encode() + b"\n")

    def put_aside(self, entry: SpoolEntry, error: str) -> None:
        """Keep an entry that cannot be replayed (not for an outage) for a person, and go on past it."""
        record = {**asdict(entry), "data": {**entry.data, "_error": error}}
        with self._locked(self.LOCK):  # `requeue_set_aside` empties the file under it
            self._append_line(self.SET_ASIDE, json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self.mark_done(entry)

    def requeue_set_aside(self) -> int:
        """Append the set-aside entries again (behind what is pending; each keeps its arrival time) and empty the
        set-aside file: `spool replay --set-aside`, once the cause is fixed."""
        with self._locked(self.LOCK):
            entries = self._entries(self.SET_ASIDE)
            for entry in entries:
                data = {k: v for k, v in entry.data.items() if k != "_error"}
                again = SpoolEntry(new_id("spl"), entry.kind, entry.received_at, data)
                self._append_line(self.ENTRIES, json.dumps(asdict(again), separators=(",", ":")).encode() + b"\n")
            self._path(self.SET_ASIDE).unlink(missing_ok=True)
        return len(entries)

    @contextmanager
    def replaying(self) -> Iterator[bool]:
        """Hold the replay lock (True), or learn that another process is replaying (False)."""
        with self._locked(self.REPLAY_LOCK, fcntl.LOCK_EX | fcntl.LOCK_NB) as mine:
            yield mine

    def compact(self) -> bool:
        """If every entry is done, empty the spool (under the append lock, so no arrival slips in between)."""
        with self._locked(self.LOCK):
            if self.pending():
                return False
            for name in (self.ENTRIES, self.DONE):
                self._path(name).unlink(missing_ok=True)
            return True
