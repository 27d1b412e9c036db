"""The spool primitive on a real file system: appends that survive, in arrival order, from several processes at once;
a torn write that loses nothing acknowledged; done marks, set-aside entries and emptying; a spool that cannot be
written says so."""
from __future__ import annotations

import json
import multiprocessing
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from aftercare.core.spool import Spool, SpoolError

AT = datetime(2026, 11, 25, 14, 10, tzinfo=timezone.utc)


def test_entries_come_back_in_arrival_order_until_done(tmp_path):
    spool = Spool(tmp_path / "spool")
    assert not spool.has_pending() and spool.pending() == [] and spool.depth() == 0
    first = spool.append("sms", {"body": "still broken"}, received_at=AT)
    second = spool.append("email", {"text": "sorted, thanks"}, received_at=AT + timedelta(seconds=1))
    assert [e.id for e in spool.pending()] == [first.id, second.id] and spool.depth() == 2
    assert spool.pending()[0].data == {"body": "still broken"} and spool.pending()[0].received == AT
    spool.mark_done(first)
    assert [e.id for e in Spool(tmp_path / "spool").pending()] == [second.id]  # kept on disk, not in memory
    assert not spool.compact()  # one still waits
    spool.mark_done(second)
    assert spool.compact()
    assert not spool.has_pending() and os.listdir(tmp_path / "spool") == ["spool.lock"]


def test_files_are_private_and_one_json_line_per_entry(tmp_path):
    spool = Spool(tmp_path / "spool")
    entry = spool.append("sms", {"body": "line one\nline two"}, received_at=AT)
    path = tmp_path / "spool" / Spool.ENTRIES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "spool").stat().st_mode) == 0o700
    lines = path.read_bytes().split(b"\n")
    assert lines[1:] == [b""] and json.loads(lines[0])["id"] == entry.id


def test_a_torn_write_is_skipped_and_never_glued_to_the_next_entry(tmp_path):
    spool = Spool(tmp_path / "spool")
    first = spool.append("sms", {"body": "a"}, received_at=AT)
    with open(tmp_path / "spool" / Spool.ENTRIES, "ab") as fh:
        fh.write(b'{"id":"spl_torn","kind":"sm')  # a writer died mid-line: it never answered 200
    assert [e.id for e in spool.pending()] == [first.id]  # an unfinished last line is not an entry yet
    second = spool.append("sms", {"body": "b"}, received_at=AT)
    assert [e.id for e in spool.pending()] == [first.id, second.id]


def _append_many(directory: str, worker: int, count: int) -> None:
    spool = Spool(directory)
    for n in range(count):
        spool.append("sms", {"worker": worker, "n": n, "body": "x" * 3000}, received_at=AT)


def test_processes_appending_at_once_lose_and_mix_nothing(tmp_path):
    directory = str(tmp_path / "spool")
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_append_many, args=(directory, w, 40)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0, 0, 0]
    entries = Spool(directory).pending()
    assert len(entries) == 160
    for worker in range(4):  # each writer's entries in its own order
        assert [e.data["n"] for e in entries if e.data["worker"] == worker] == list(range(40))


def test_set_aside_entries_are_kept_apart_and_can_be_put_back_in_line(tmp_path):
    spool = Spool(tmp_path / "spool")
    bad = spool.append("sms", {"body": "a"}, received_at=AT)
    good = spool.append("sms", {"body": "b"}, received_at=AT)
    spool.put_aside(bad, "ValueError: a bug")
    assert [e.id for e in spool.pending()] == [good.id]
    assert [(e.id, e.data["_error"]) for e in spool.set_aside()] == [(bad.id, "ValueError: a bug")]
    assert spool.requeue_set_aside() == 1
    again = spool.pending()[-1]
    assert again.data == {"body": "a"} and again.received_at == bad.received_at and spool.set_aside() == []


def test_one_replayer_at_a_time(tmp_path):
    spool = Spool(tmp_path / "spool")
    with spool.replaying() as first:
        with Spool(tmp_path / "spool").replaying() as second:
            assert first and not second
    with spool.replaying() as again:
        assert again


def test_a_spool_that_cannot_be_written_raises(tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the spool directory should be")
    with pytest.raises(SpoolError):
        Spool(blocked / "spool").append("sms", {"body": "a"}, received_at=AT)
    assert not Spool(blocked / "spool").has_pending()
