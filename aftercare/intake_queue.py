"""The intake queue (`crm.intake_mode = "queued"`): the door stores a verified, validated event in one INSERT;
the workers act on stored events.

Why: acting on an interaction.closed takes a couple of dozen statements (customer, case, interaction,
check-in, load ledger, break planner); storing it takes one. A CRM that closes thousands of tickets in a
burst gets its 202s at the speed of the INSERT, and nothing is lost once the 202 is sent.

How, like the dispatcher: a worker leases a batch (SKIP LOCKED, `claimed_by` + `lease_until`), then acts
on each event in its own transaction — the effects and the `processed` mark commit together, after the
worker re-checks (row-locked) that it still holds the lease — so team and agent rows are locked for one
event, not a batch. A killed worker's lease runs out and another worker takes the events it had not
finished; those it had are already marked. Order: events with the same `order_key` (one case; or one
customer or agent for events with no case) are acted on one at a time, in arrival order; different keys go
in parallel. A refused event (409, 422) is marked failed with its problem details and holds up nothing;
one that raises unexpectedly goes back to the queue for a later tick, up to `crm.intake_max_attempts`,
then is marked failed and logged.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import psycopg
from marshmallow import ValidationError
from psycopg.types.json import Json
from prometheus_client import Counter, Histogram
from sqlalchemy import exists, or_, select, tuple_, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, aliased

from aftercare.db import Database
from aftercare.errors import Problem, validation_problem
from aftercare.intake_handlers import apply_event
from aftercare.intake_schemas import SCHEMAS
from aftercare.models import WebhookEvent
from followup.dispatch import worker_name

log = logging.getLogger("aftercare.intake")
EVENTS = Counter("crm_events_total", "CRM events acted on, by type and outcome (processed or failed)",
                 ("type", "state"))
QUEUE_LAG = Histogram("crm_event_queue_seconds", "A queued CRM event's wait: received at the door until acted on",
                      buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))
VALIDATORS = {name: schema() for name, schema in SCHEMAS.items()}


def store_queued(db: Database, *, event_id: str, type: str, payload: dict, response: dict, order_key: str,
                 now: datetime) -> bool:
    """INSERT the event unless its event_id is already stored; True when this call stored it.

    On PostgreSQL this is the one statement a queued webhook costs, so it skips the ORM and the pool: a
    per-process psycopg connection in autocommit (no BEGIN/COMMIT round trips; the row is durable when
    the statement returns) with the statement prepared server-side after its first uses.
    """
    if db.is_sqlite:
        table = WebhookEvent.__table__
        stmt = sqlite_insert(table).values(
            event_id=event_id, type=type, status_code=202, response=response, received_at=now, state="queued",
            payload=payload, order_key=order_key, attempts=0).on_conflict_do_nothing(index_elements=["event_id"])
        with db.engine.begin() as conn:
            return conn.execute(stmt.returning(table.c.event_id)).first() is not None
    params = (event_id, type, Json(response), now.astimezone(timezone.utc).replace(tzinfo=None), Json(payload),
              order_key)
    return _door(db.url).insert(params)


class _PgDoor:
    """One autocommit psycopg connection per process (made after gunicorn forks), reopened if it drops."""

    SQL = ("INSERT INTO webhook_events (event_id, type, status_code, response, received_at, state, payload, "
           "order_key, attempts) VALUES (%s, %s, 202, %s, %s, 'queued', %s, %s, 0) "
           "ON CONFLICT (event_id) DO NOTHING RETURNING event_id")

    def __init__(self, url: str) -> None:
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn: psycopg.Connection | None = None
        self.pid = os.getpid()
        self.lock = threading.Lock()

    def insert(self, params: tuple) -> bool:
        with self.lock:
            try:
                return self._execute(params)
            except psycopg.OperationalError:
                self.close()  # the server restarted or the socket died: once more on a fresh connection
                return self._execute(params)

    def _execute(self, params: tuple) -> bool:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.conninfo, autocommit=True)
        return self.conn.execute(self.SQL, params).fetchone() is not None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


_DOORS: dict[tuple[int, str], _PgDoor] = {}


def _door(url: str) -> _PgDoor:
    key = (os.getpid(), url)
    if key not in _DOORS:
        _DOORS[key] = _PgDoor(url)
    return _DOORS[key]


@dataclass
class ApplyReport:
    processed: int = 0
    failed: int = 0
    retried: int = 0
    batches: int = 0

    @property
    def total(self) -> int:
        return self.processed + self.failed + self.retried


def apply_queued(db: Database, *, ctx, clock: Callable[[], datetime], worker: str = "", batch_size: int = 200,
                 max_attempts: int = 5, lease_seconds: float = 120.0, budget_seconds: float = 5.0,
                 stopping: Callable[[], bool] = lambda: False) -> ApplyReport:
    """Claim ready events batch by batch and act on each, until none are ready, the budget is spent or the
    worker stops. A batch holds one event per key, so a run of events for one case takes a batch each."""
    report, started = ApplyReport(), time.monotonic()
    worker = worker or worker_name()
    while not stopping():
        retried = report.retried
        claimed = _claim(db, worker=worker, now=clock(), batch_size=batch_size, lease_seconds=lease_seconds)
        if not claimed:
            break
        report.batches += 1
        deadline = time.monotonic() + 0.75 * lease_seconds
        for n, event_id in enumerate(claimed):
            if stopping() or time.monotonic() > deadline:
                _release(db, claimed[n:], worker=worker)  # never act on a lease about to run out
                return report
            _apply_one(db, event_id, worker=worker, ctx=ctx, now=clock(), max_attempts=max_attempts,
                       report=report)
        if report.retried > retried or time.monotonic() - started > budget_seconds:
            break  # a retry waits for the next tick rather than spinning on the same event
    return report


def _claim(db: Database, *, worker: str, now: datetime, batch_size: int, lease_seconds: float) -> list[str]:
    """Lease the oldest ready events that are first in line for their order_key.

    Ready: queued and not leased, or leased by a worker that did not finish in time (killed). An event waits
    while an earlier one with its key is queued, leased or not: one key is never acted on by two workers at
    once, nor out of order. SKIP LOCKED lets workers claim side by side.
    """
    earlier = aliased(WebhookEvent)
    ready = (select(WebhookEvent.event_id)
             .where(WebhookEvent.state == "queued",
                    or_(WebhookEvent.lease_until.is_(None), WebhookEvent.lease_until < now),
                    ~exists().where(earlier.state == "queued", earlier.order_key == WebhookEvent.order_key,
                                    tuple_(earlier.received_at, earlier.event_id)
                                    < tuple_(WebhookEvent.received_at, WebhookEvent.event_id)))
             .order_by(WebhookEvent.received_at, WebhookEvent.event_id).limit(batch_size))
    if not db.is_sqlite:
        ready = ready.with_for_update(skip_locked=True, of=WebhookEvent)
    with db.session() as session:
        ids = list(session.scalars(ready))
        if ids:
            session.execute(update(WebhookEvent).where(WebhookEvent.event_id.in_(ids))
                            .values(claimed_by=worker, lease_until=now + timedelta(seconds=lease_seconds))
                            .execution_options(synchronize_session=False))
            session.commit()
    return ids


def _release(db: Database, event_ids: list[str], *, worker: str) -> None:
    with db.session() as session:
        session.execute(update(WebhookEvent).where(WebhookEvent.event_id.in_(event_ids),
                                                   WebhookEvent.claimed_by == worker, WebhookEvent.state == "queued")
                        .values(claimed_by=None, lease_until=None).execution_options(synchronize_session=False))
        session.commit()


def _held(session: Session, event_id: str, worker: str, *, lock: bool) -> WebhookEvent | None:
    """The event, if this worker still holds it; locked, so a worker reclaiming an expired lease waits for us
    and then finds it done."""
    stmt = select(WebhookEvent).where(WebhookEvent.event_id == event_id, WebhookEvent.state == "queued",
                                      WebhookEvent.claimed_by == worker)
    return session.scalars(stmt.with_for_update() if lock else stmt).first()


def _apply_one(db: Database, event_id: str, *, worker: str, ctx, now: datetime, max_attempts: int,
               report: ApplyReport) -> None:
    """One event, one transaction: its effects and its `processed` mark commit together, or neither."""
    with db.session() as session:
        row = _held(session, event_id, worker, lock=not db.is_sqlite)
        if row is None:
            return
        try:
            try:
                event = VALIDATORS[row.type].load(row.payload)
            except ValidationError as exc:
                raise validation_problem(exc.messages) from exc
            result = apply_event(session, event, now, ctx)
        except Problem as problem:
            session.rollback()
            outcome = ("failed", problem.status, problem.as_dict(), problem.detail or problem.title)
        except Exception as exc:
            session.rollback()
            log.exception("CRM event %s could not be applied; it stays queued", event_id)
            outcome = ("retry", 500, None, f"{type(exc).__name__}: {exc}"[:2000])
        else:
            _finish(row, "processed", 202, result, now)
            session.commit()
            report.processed += 1
            return
        row = _held(session, event_id, worker, lock=not db.is_sqlite)
        if row is None:
            return
        state, status, problem, error = outcome
        row.last_error = error
        if state == "retry":
            row.attempts += 1
            row.claimed_by = row.lease_until = None
            if row.attempts < max_attempts:
                report.retried += 1
                session.commit()
                return
            problem = {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                       "detail": f"Acting on this event failed {row.attempts} times; the error is logged."}
        _finish(row, "failed", status, {"event_id": event_id, "status": "failed", "problem": problem}, now)
        session.commit()
        report.failed += 1


def _finish(row: WebhookEvent, state: str, status_code: int, response: dict, now: datetime) -> None:
    row.state, row.status_code, row.response, row.processed_at = state, status_code, response, now
    row.claimed_by = row.lease_until = None
    if state == "processed":
        row.payload = None  # its effects are stored; the raw event (with contact details) need not be kept
    EVENTS.labels(row.type, state).inc()
    QUEUE_LAG.observe(max(0.0, (now - row.received_at).total_seconds()))


def requeue(session: Session, *, event_id: str) -> int:
    """Put a failed event back in the queue with a full set of attempts (it needs its payload)."""
    return session.execute(update(WebhookEvent).where(
        WebhookEvent.event_id == event_id, WebhookEvent.state == "failed", WebhookEvent.payload.is_not(None))
        .values(state="queued", attempts=0, status_code=202, claimed_by=None, lease_until=None)).rowcount
