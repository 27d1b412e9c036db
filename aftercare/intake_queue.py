"""The intake queue (`crm.intake_mode = "queued"`): the door stores a verified, validated event in one INSERT;
the workers act on stored events.

Why: acting on an interaction.closed takes a couple of dozen statements (customer, case, interaction,
check-in, load ledger, break planner); storing it takes one. A CRM that closes thousands of tickets in a
burst gets its 202s at the speed of the INSERT, and nothing is lost once the 202 is sent.

Order: events with the same `order_key` (one case; or one customer or agent for events with no case) are
acted on one at a time, in arrival order; different keys go in parallel across workers (SKIP LOCKED
claims, like the dispatcher's). A worker killed mid-batch rolls its transaction back: the batch stays
queued and another worker applies it, exactly once (the state flips in the same transaction as the
effects). Each event runs in a SAVEPOINT: one refused event (409, 422) is marked failed with its problem
details and does not hold up the rest; one that raises unexpectedly is retried on a later tick, up to
`crm.intake_max_attempts`, then marked failed and logged.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import psycopg
from marshmallow import ValidationError
from psycopg.types.json import Json
from prometheus_client import Counter, Histogram
from sqlalchemy import exists, select, tuple_, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, aliased

from aftercare.db import Database
from aftercare.errors import Problem, validation_problem
from aftercare.intake_handlers import apply_event
from aftercare.intake_schemas import SCHEMAS
from aftercare.models import WebhookEvent

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


def apply_queued(db: Database, *, ctx, clock: Callable[[], datetime], batch_size: int = 200,
                 max_attempts: int = 5, budget_seconds: float = 5.0,
                 stopping: Callable[[], bool] = lambda: False) -> ApplyReport:
    """Apply queued events batch by batch until none are ready, the budget is spent or the worker stops.

    A batch holds one event per key, so a run of events for one case takes one batch each, back to back."""
    report, started = ApplyReport(), time.monotonic()
    while not stopping():
        retried = report.retried
        n = _apply_batch(db, report, ctx=ctx, clock=clock, batch_size=batch_size, max_attempts=max_attempts)
        if n == 0 or report.retried > retried or time.monotonic() - started > budget_seconds:
            break  # a retry waits for the next tick rather than spinning on the same event
    return report


def _apply_batch(db: Database, report: ApplyReport, *, ctx, clock, batch_size: int, max_attempts: int) -> int:
    with db.session() as session:
        events = list(session.scalars(_next_batch(batch_size, lock=not db.is_sqlite)))
        if not events:
            return 0
        report.batches += 1
        retry: list[tuple[str, str]] = []
        for row in events:
            outcome = _apply_one(session, row, ctx=ctx, now=clock())
            if outcome is not None:
                retry.append((row.event_id, outcome))
        session.commit()
    if retry:
        _count_attempts(db, retry, max_attempts=max_attempts, now=clock(), report=report)
    report.processed += sum(1 for row in events if row.state == "processed")
    report.failed += sum(1 for row in events if row.state == "failed")
    return len(events)


def _next_batch(batch_size: int, *, lock: bool):
    """The oldest queued events that are first in line for their order_key.

    An event waits while an earlier one with its key is still queued, even if another worker holds that one
    (SKIP LOCKED skips the holder's rows, and this check then skips the later ones): one key is never acted
    on by two workers at once, nor out of order. A batch therefore holds at most one event per key.
    """
    earlier = aliased(WebhookEvent)
    stmt = (select(WebhookEvent)
            .where(WebhookEvent.state == "queued",
                   ~exists().where(earlier.state == "queued", earlier.order_key == WebhookEvent.order_key,
                                   tuple_(earlier.received_at, earlier.event_id)
                                   < tuple_(WebhookEvent.received_at, WebhookEvent.event_id)))
            .order_by(WebhookEvent.received_at, WebhookEvent.event_id).limit(batch_size))
    return stmt.with_for_update(skip_locked=True, of=WebhookEvent) if lock else stmt


def _apply_one(session: Session, row: WebhookEvent, *, ctx, now: datetime) -> str | None:
    """Act on one stored event in a savepoint; returns the error text when it should be tried again."""
    try:
        with session.begin_nested():
            try:
                event = VALIDATORS[row.type].load(row.payload)
            except ValidationError as exc:
                raise validation_problem(exc.messages) from exc
            result = apply_event(session, event, now, ctx)
    except Problem as problem:
        _finish(row, "failed", problem.status, {"event_id": row.event_id, "status": "failed",
                                                "problem": problem.as_dict()}, now)
        row.last_error = problem.detail or problem.title
        return None
    except Exception as exc:
        log.exception("CRM event %s could not be applied; it stays queued", row.event_id)
        return f"{type(exc).__name__}: {exc}"[:2000]
    _finish(row, "processed", 202, result, now)
    return None


def _finish(row: WebhookEvent, state: str, status_code: int, response: dict, now: datetime) -> None:
    row.state, row.status_code, row.response, row.processed_at = state, status_code, response, now
    if state == "processed":
        row.payload = None  # its effects are stored; the raw event (with contact details) need not be kept
    EVENTS.labels(row.type, state).inc()
    QUEUE_LAG.observe(max(0.0, (now - row.received_at).total_seconds()))


def _count_attempts(db: Database, retry: list[tuple[str, str]], *, max_attempts: int, now: datetime,
                    report: ApplyReport) -> None:
    """Outside the batch's transaction (it committed the others): count the try, give up after the last."""
    with db.session() as session:
        for event_id, error in retry:
            row = session.get(WebhookEvent, event_id)
            if row is None or row.state != "queued":
                continue
            row.attempts += 1
            row.last_error = error
            if row.attempts >= max_attempts:
                _finish(row, "failed", 500, {"event_id": event_id, "status": "failed", "problem": {
                    "type": "about:blank", "title": "Internal Server Error", "status": 500,
                    "detail": f"Acting on this event failed {row.attempts} times; the error is logged."}}, now)
                report.failed += 1
            else:
                report.retried += 1
        session.commit()


def requeue(session: Session, *, event_id: str) -> int:
    """Put a failed event back in the queue with a full set of attempts (it needs its payload)."""
    return session.execute(update(WebhookEvent).where(
        WebhookEvent.event_id == event_id, WebhookEvent.state == "failed", WebhookEvent.payload.is_not(None))
        .values(state="queued", attempts=0, status_code=202)).rowcount
