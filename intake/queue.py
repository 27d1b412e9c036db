"""The intake queue (`crm.intake_mode = "queued"`): the door (`intake.door`) stores a verified, validated event in
one INSERT; the workers act on stored events.

How: a worker leases a batch (the leased queue: SKIP LOCKED, an owner token and `lease_until`), then acts on
it. With `crm.intake_apply = "batched"` (`apply_batch`) the whole batch is one transaction: the events still
held read and row-locked in one statement, `interaction.closed` runs acted on with set-based statements, any
other event in a savepoint, every outcome recorded in one statement. With `"per_event"` (`apply_one`, the
baseline) each event is its own transaction — the effects and the `processed` mark commit together, after the
worker re-checks (row-locked) that it still holds the lease. A killed worker's lease runs out and another
worker takes the events it had not finished; those it had are already marked. Order: events sharing a case,
customer or agent key (`intake.service.order_keys`) are acted on one at a time, in arrival order (a batch
holds at most one event per key); the rest go in parallel.
A refused event (409, 422) is marked failed with its problem details and holds up nothing; one that fails
unexpectedly goes back to the queue for a later tick, up to `crm.intake_max_attempts` (counted at claim,
so an event that kills its worker runs out too), then is marked failed and logged.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Callable

from marshmallow import ValidationError
from prometheus_client import Counter, Histogram
from sqlalchemy import and_, case, exists, func, literal, null, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from aftercare.core.clock import Clock
from aftercare.core.db import Database
from aftercare.core.bulk import upsert_rows
from aftercare.core.leased_queue import Lease, LeasedQueue, among, finished, is_sqlite, lease_free, worker_name
from aftercare.core.logs import error_summary
from aftercare.core.outage import database_unreachable
from aftercare.core.problems import Problem, problem_body, validation_problem
from intake.models import ORDER_KEYS, WebhookEvent
from intake.schemas import SCHEMAS
from intake.service import apply_batch as act_on_run, apply_event, batchable

log = logging.getLogger("aftercare.intake")
EVENTS = Counter("crm_events_total", "CRM events acted on, by type and outcome (processed or failed)",
                 ("type", "state"))
QUEUE_LAG = Histogram("crm_event_queue_seconds", "A queued CRM event's wait: received at the door until acted on",
                      buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))
VALIDATORS = {name: schema() for name, schema in SCHEMAS.items()}


@dataclass
class ApplyReport:
    processed: int = 0
    failed: int = 0
    retried: int = 0
    batches: int = 0

    @property
    def total(self) -> int:
        return self.processed + self.failed + self.retried


def _waits_behind(key: str):
    """An earlier event sharing this key is still queued (leased or not)."""
    earlier = aliased(WebhookEvent)
    return exists().where(earlier.state == "queued", getattr(earlier, key) == getattr(WebhookEvent, key),
                          tuple_(earlier.received_at, earlier.event_id)
                          < tuple_(WebhookEvent.received_at, WebhookEvent.event_id))


# Ready: queued and not leased (or leased by a worker that did not finish in time), and first in line for every
# key it carries: no two events touching the same case, customer or agent are acted on at once, nor out of order.
QUEUE = LeasedQueue(
    WebhookEvent, order_by=(WebhookEvent.received_at, WebhookEvent.event_id), attempts=WebhookEvent.attempts,
    ready=lambda now: [and_(WebhookEvent.state == "queued", lease_free(WebhookEvent, now),
                            *(~_waits_behind(key) for key in ORDER_KEYS))])


def apply_queued(db: Database, *, ctx, clock: Clock, worker: str = "", batch_size: int = 200,
                 max_attempts: int = 5, lease_seconds: float = 120.0, budget_seconds: float = 5.0,
                 stopping: Callable[[], bool] = lambda: False, apply: str = "batched") -> ApplyReport:
    """Claim ready events batch by batch and act on each, until none are ready, the budget is spent or the
    worker stops. A batch holds one event per key, so a run of events for one case takes a batch each."""
    report, started = ApplyReport(), time.monotonic()
    worker = worker or worker_name()
    while not stopping():
        retried = report.retried
        lease = claim(db, worker=worker, now=clock(), batch_size=batch_size, lease_seconds=lease_seconds,
                      max_attempts=max_attempts, report=report)
        if not lease:
            break
        report.batches += 1
        for n, event_id in enumerate(lease.ids):
            if stopping() or lease.running_out(clock()):
                with db.session() as session:  # never act on a lease about to run out
                    QUEUE.release(session, lease, lease.ids[n:])
                    session.commit()
                return report
            if apply == "batched":
                apply_batch(db, lease, lease.ids, ctx=ctx, now=clock(), max_attempts=max_attempts, report=report)
                break
            apply_one(db, lease, event_id, ctx=ctx, now=clock(), max_attempts=max_attempts, report=report)
        if report.retried > retried or time.monotonic() - started > budget_seconds:
            break  # a retry waits for the next tick rather than spinning on the same event
    return report


def claim(db: Database, *, worker: str, now: datetime, batch_size: int, lease_seconds: float, max_attempts: int,
          report: ApplyReport) -> Lease:
    """Lease the oldest ready events, counting the attempt; those that had no attempt left are marked failed.

    The attempt is counted at claim, so an event that kills the worker acting on it (out of memory, a crash)
    still runs out of attempts: one whose lease ran out on its last attempt is failed here.
    """
    with db.session() as session:
        lease = QUEUE.claim(session, worker=worker, now=now, limit=batch_size, lease_seconds=lease_seconds,
                            returning=(WebhookEvent.event_id, WebhookEvent.attempts))
        spent = {event_id for event_id, attempts in lease.rows if attempts > max_attempts}
        if not spent:
            return lease
        finished_rows = []
        for event_id in spent:
            row = QUEUE.held(session, lease, event_id)
            row.attempts -= 1  # the claim counted an attempt that will not be made
            row.last_error = row.last_error or "the worker acting on it stopped before it finished"
            finished_rows.append(_finish(row, "failed", 500, _gave_up(row), now))
        session.commit()
    _count(finished_rows, report)
    lease.ids = [event_id for event_id in lease.ids if event_id not in spent]
    return lease


def _gave_up(row) -> dict:
    return {"event_id": row.event_id, "status": "failed", "problem": problem_body(
        500, "Internal Server Error", f"Acting on this event failed {row.attempts} times; the error is logged.")}


def apply_one(db: Database, lease: Lease, event_id: str, *, ctx, now: datetime, max_attempts: int,
              report: ApplyReport) -> None:
    """One event, one transaction: its effects and its `processed` mark commit together, or neither, and only
    while this claim still holds the event (row-locked, so a worker taking over an expired lease waits for us
    and then finds it done).

    Whatever goes wrong — a refusal, an exception in a handler, or an error only at commit (a deadlock, a
    constraint, a dropped connection) — is recorded on the event in a fresh transaction; nothing escapes to
    strand the rest of the batch.
    """
    try:
        with db.session() as session:
            row = QUEUE.held(session, lease, event_id)
            if row is None:
                return
            try:
                event = VALIDATORS[row.type].load(row.payload)
            except ValidationError as exc:
                raise validation_problem(exc.messages) from exc
            result = apply_event(session, event, now, ctx)
            finished_row = _finish(row, "processed", 202, result, now)
            session.commit()
        _count([finished_row], report)
        return
    except Problem as problem:
        outcome = ("failed", problem.status, problem.as_dict(), problem.detail or problem.title)
    except Exception as exc:
        if database_unreachable(exc):
            raise  # not a bad item: the database is away, and the tick waits it out
        log.exception("CRM event %s could not be applied; it stays queued", event_id)
        outcome = ("retry", 500, None, error_summary(exc)[:2000])
    _record_failure(db, lease, event_id, outcome=outcome, now=now, max_attempts=max_attempts, report=report)


def apply_batch(db: Database, lease: Lease, event_ids: list[str], *, ctx, now: datetime, max_attempts: int,
                report: ApplyReport) -> None:
    """The batch in one transaction (`crm.intake_apply = "batched"`): the events still held read and locked in one
    statement; runs of `batchable` events acted on together (`intake.service.apply_batch`), any other event one
    by one in a savepoint; every outcome recorded with one statement; one commit.

    A refused event (409, 422) is recorded failed and the rest commit; one that raises unexpectedly in its
    savepoint goes back to the queue as in the per-event path. If the batch fails as a whole (an error in a
    set-based write, at commit), nothing of it is kept and its events are retried one by one (`apply_one`),
    so the one at fault fails alone.
    """
    try:
        with db.session() as session:
            rows = _held_rows(session, lease, event_ids)
            outcomes: dict[str, tuple] = {}
            run: list[tuple[dict, dict]] = []
            for row in rows:
                try:
                    event = VALIDATORS[row["type"]].load(row["payload"])
                except ValidationError as exc:
                    problem = validation_problem(exc.messages)
                    outcomes[row["event_id"]] = ("failed", problem.status, problem.as_dict(),
                                                 problem.detail or problem.title)
                    continue
                if batchable(event, ctx):
                    run.append((row, event))
                    continue
                _act_on_run(session, run, outcomes, ctx=ctx, now=now)
                outcomes[row["event_id"]] = _act_on_one(session, event, ctx=ctx, now=now)
            _act_on_run(session, run, outcomes, ctx=ctx, now=now)
            finished_rows, retried = _record_outcomes(session, lease, rows, outcomes, now=now,
                                                      max_attempts=max_attempts)
            session.commit()
    except Exception as exc:
        if database_unreachable(exc):
            raise
        log.warning("A batch of %d CRM events failed as a whole (%s); acting on them one by one", len(event_ids),
                    error_summary(exc)[:300])
        for event_id in event_ids:
            apply_one(db, lease, event_id, ctx=ctx, now=now, max_attempts=max_attempts, report=report)
        return
    report.retried += retried
    _count(finished_rows, report)


HELD_COLUMNS = ("event_id", "type", "status_code", "response", "received_at", "payload", "attempts", "last_error")


def _held_rows(session: Session, lease: Lease, event_ids: list[str]) -> list[dict]:
    """The batch's events this claim still holds, row-locked, in claim order (the others were taken over)."""
    table = WebhookEvent.__table__
    stmt = select(*(table.c[name] for name in HELD_COLUMNS)).where(among(session, table.c.event_id, event_ids),
                                                                   QUEUE.owned(lease))
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    found = {row["event_id"]: dict(row) for row in session.execute(stmt).mappings()}
    return [found[event_id] for event_id in event_ids if event_id in found]


def _act_on_run(session: Session, run: list[tuple[dict, dict]], outcomes: dict, *, ctx, now: datetime) -> None:
    if not run:
        return
    results = act_on_run(session, [event for _, event in run], now, ctx)
    for (row, _), result in zip(run, results):
        if isinstance(result, Problem):
            outcomes[row["event_id"]] = ("failed", result.status, result.as_dict(), result.detail or result.title)
        else:
            outcomes[row["event_id"]] = ("processed", 202, result, None)
    run.clear()


def _act_on_one(session: Session, event: dict, *, ctx, now: datetime) -> tuple:
    """An event the batch does not cover, as `apply_one` acts on it, in a savepoint of the batch's transaction."""
    try:
        with session.begin_nested():
            return "processed", 202, apply_event(session, event, now, ctx), None
    except Problem as problem:
        return "failed", problem.status, problem.as_dict(), problem.detail or problem.title
    except Exception as exc:
        if database_unreachable(exc):
            raise
        log.exception("CRM event %s could not be applied; it stays queued", event["event_id"])
        return "retry", 500, None, error_summary(exc)[:2000]


def _record_outcomes(session: Session, lease: Lease, rows: list[dict], outcomes: dict, *, now: datetime,
                     max_attempts: int) -> tuple[list[tuple], int]:
    """Every outcome in one statement, only on rows this claim holds; what to count once committed."""
    table, records, counted, retried = WebhookEvent.__table__, [], [], 0
    for row in rows:
        state, status, body, error = outcomes[row["event_id"]]
        record = {**row, "state": state, "processed_at": now, "claimed_by": None, "lease_until": None,
                  "last_error": error if error is not None else row["last_error"],
                  "payload": None}  # the stored payload is kept or dropped in SQL (below): no need to send it back
        if state == "retry" and row["attempts"] < max_attempts:
            record.update(state="queued", processed_at=None)
            retried += 1
            records.append(record)
            continue
        if state == "retry":
            state, body = "failed", _gave_up(SimpleNamespace(event_id=row["event_id"], attempts=row["attempts"]))
            record["state"] = state
        elif state == "failed":
            body = {"event_id": row["event_id"], "status": "failed", "problem": body}
        record.update(status_code=status, response=body)
        records.append(record)
        counted.append((row["type"], state, max(0.0, (now - row["received_at"]).total_seconds())))
    upsert_rows(session, table, records, where=QUEUE.owned(lease), update=lambda new: {
        **{name: new[name] for name in ("state", "status_code", "response", "processed_at", "claimed_by",
                                        "lease_until", "last_error")},
        "payload": case((new.state == literal("processed"), null()), else_=table.c.payload)})
    return counted, retried


def _record_failure(db: Database, lease: Lease, event_id: str, *, outcome: tuple, now: datetime,
                    max_attempts: int, report: ApplyReport) -> None:
    state, status, problem, error = outcome
    with db.session() as session:
        row = QUEUE.held(session, lease, event_id)
        if row is None:
            return
        row.last_error = error
        if state == "retry" and row.attempts < max_attempts:
            finished(row)
            session.commit()
            report.retried += 1
            return
        body = _gave_up(row) if state == "retry" else {"event_id": event_id, "status": "failed", "problem": problem}
        finished_row = _finish(row, "failed", status, body, now)
        session.commit()
    _count([finished_row], report)


def _finish(row: WebhookEvent, state: str, status_code: int, response: dict, now: datetime) -> tuple:
    """Mark the event done; returns what to count once the caller has committed."""
    row.state, row.status_code, row.response, row.processed_at = state, status_code, response, now
    finished(row)
    if state == "processed":
        row.payload = None  # its effects are stored; the raw event (with contact details) need not be kept
    return row.type, state, max(0.0, (now - row.received_at).total_seconds())


def _count(finished: list[tuple], report: ApplyReport) -> None:
    for type_, state, waited in finished:
        EVENTS.labels(type_, state).inc()
        QUEUE_LAG.observe(waited)
        if state == "processed":
            report.processed += 1
        else:
            report.failed += 1


def requeue(session: Session, *, event_id: str, now: datetime) -> bool:
    """Put a failed event back at the end of the queue with a full set of attempts (it needs its payload).

    It is acted on as if it arrived now — after anything already done for its case — and until then a
    repeat of the webhook answers "queued" again, not the old failure.
    """
    row = session.get(WebhookEvent, event_id)
    if row is None or row.state != "failed" or row.payload is None:
        return False
    row.state, row.status_code, row.attempts, row.processed_at = "queued", 202, 0, None
    finished(row)
    row.received_at = now
    row.response = {"event_id": event_id, "status": "queued", "type": row.type, "requeued_at": now.isoformat(),
                    "previous_error": row.last_error}
    session.flush()
    return True


def purge_failed_payloads(session: Session, *, cutoff: datetime, dry_run: bool) -> int:
    """Retention: a CRM event a worker failed on keeps its raw payload (contact details included) so it can be
    queued again; past the cutoff it is dropped. Processed events never keep one. In the caller's transaction."""
    old = and_(WebhookEvent.payload.is_not(None), WebhookEvent.state == "failed", WebhookEvent.received_at < cutoff)
    if dry_run:
        return session.scalar(select(func.count()).select_from(WebhookEvent).where(old))
    return session.execute(update(WebhookEvent).where(old).values(payload=None)
                           .execution_options(synchronize_session=False)).rowcount
