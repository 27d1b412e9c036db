"""The outbox: what an outside system must be told (a CRM that a case reopened, a routing platform to create a
task or set an activity) is written in the use case's own transaction and delivered later by the tick, so a slow
or broken system never holds up a reopen and no notice is lost in a crash.

Rows are a leased queue (`aftercare.core.leased_queue`): `state` pending until delivered or dead, `attempts`,
`next_attempt_at` (backoff), `last_error`. Failures back off exponentially with jitter, a `Retry-After` as a floor;
after `max_attempts`, or at once for an answer retrying cannot fix, the row is dead (a dead letter).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol, Sequence

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from aftercare.core.clock import Clock, utcnow
from aftercare.core.db import Database, UTCDateTime
from aftercare.core.leased_queue import LeaseColumns, LeasedQueue, finished
from aftercare.core.outage import database_unreachable
from aftercare.core.retry import give_up_reason, retry_delay

log = logging.getLogger("aftercare.outbox")
DONE, RETRIED, DEAD = "done", "retried", "dead"


class DeliveryFailure(Protocol):
    reason: str
    permanent: bool


@dataclass(frozen=True)
class OutboxPolicy:
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    lease_seconds: float = 120.0
    batch_size: int = 100


@dataclass
class OutboxReport:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0  # outcomes dropped because the lease ran out and another worker had claimed the row
    errors: list[str] = field(default_factory=list)


def settle(row: Any, failure: DeliveryFailure | None, *, done_state: str, now: datetime, policy: OutboxPolicy) -> str:
    """Record one attempt on a row this claim still holds: done, retried after a backoff, or dead. Returns which."""
    finished(row)
    row.updated_at = now
    if failure is None:
        row.state = done_state
        return DONE
    delay = retry_delay(attempts=row.attempts, max_attempts=policy.max_attempts, permanent=failure.permanent,
                        base=policy.backoff_seconds, cap=policy.backoff_cap_seconds,
                        retry_after=getattr(failure, "retry_after", None))
    if delay is not None:
        row.next_attempt_at = now + timedelta(seconds=delay)
        row.last_error = failure.reason
        return RETRIED
    row.state = "dead"
    row.last_error = give_up_reason(failure.reason, permanent=failure.permanent, attempts=row.attempts)
    return DEAD


def drain(db: Database, queue: LeasedQueue, call: Callable[[Any], tuple[DeliveryFailure | None, Any]], *,
          done_state: str, clock: Clock, policy: OutboxPolicy, worker: str, filters: Sequence[Any] = (),
          returning: Sequence[Any] = (), on_done: Callable[[Session, Any, Any], None] | None = None) -> OutboxReport:
    """One tick: lease what is due, then deliver row by row while the lease lasts (what is left goes back).

    `call(claimed)` tells the outside system, outside any transaction, and returns (failure or None, anything
    `on_done(session, row, it)` needs to record a success). The outcome is recorded only while this claim still
    holds the row. One bad row never stops the batch: its lease expires and it is tried again.
    """
    report = OutboxReport()
    with db.session() as session:
        lease = queue.claim(session, worker=worker, now=clock(), limit=policy.batch_size,
                            lease_seconds=policy.lease_seconds, filters=filters, returning=returning)
    claimed_rows = lease.rows if returning else lease.ids
    report.claimed = len(claimed_rows)
    for n, claimed in enumerate(claimed_rows):
        if lease.running_out(clock()):
            with db.session() as session:
                queue.release(session, lease, lease.ids[n:])
                session.commit()
            break
        row_id = lease.ids[n]
        try:
            failure, result = call(claimed)
            with db.session() as session:
                row = queue.held(session, lease, row_id)
                if row is None:
                    log.warning("%s %s: the lease ran out and another worker has it; outcome dropped",
                                queue.table.name, row_id)
                    report.lost += 1
                    continue
                outcome = settle(row, failure, done_state=done_state, now=clock(), policy=policy)
                if outcome == DONE and on_done is not None:
                    on_done(session, row, result)
                elif outcome == DEAD:
                    log.warning("%s %s is dead: %s", queue.table.name, row_id, row.last_error)
                session.commit()
            setattr(report, outcome, getattr(report, outcome) + 1)
        except Exception as exc:  # noqa: BLE001 - one bad row never stops the batch; its lease expires, it retries
            if database_unreachable(exc):
                raise  # not a bad item: the database is away, and the tick waits it out
            log.exception("%s %s could not be delivered or recorded; it will be retried", queue.table.name, row_id)
            report.errors.append(f"{row_id}: {type(exc).__name__}")
    return report


class OutboxColumns(LeaseColumns):
    """The columns that make a table an outbox (mixed into its model)."""

    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
