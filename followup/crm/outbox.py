"""The CRM outbox: a reopen records its notice in its own transaction; the scheduler tick delivers it later.

So the CRM is never called inside the reply's transaction, a slow or broken CRM never holds up a reopen, and a
notice survives crashes. Rows are worked as a leased queue (`aftercare.core.leased_queue`): claimed with a lease
and committed before the call, so workers sharing the table never send the same attempt twice, and an outcome is
recorded only while the claim still holds the row; delivery is at least once, and the `delivery_id` lets a
receiver drop a repeat. Failures back off exponentially with jitter; after
`crm.max_attempts`, or at once for an answer retrying cannot fix, the row is dead: a dead letter a manager can see
and send again.

Every adapter gets rows, `builtin` included: its call is a no-op, so its rows are simply marked delivered on the
next tick, and the table is one audit trail of what each CRM was told.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from aftercare.core import retry
from aftercare.core.clock import Clock
from aftercare.core.db import Database
from aftercare.core.ids import new_id
from aftercare.core.leased_queue import Lease, LeasedQueue, finished, lease_free, worker_name
from followup.crm.base import CrmAdapter, CrmDeliveryError, ReopenNotice
from followup.crm.models import CrmDelivery

log = logging.getLogger("aftercare.crm")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    lease_seconds: float = 120.0
    batch_size: int = 100

    @classmethod
    def from_settings(cls, settings) -> "RetryPolicy":
        crm = settings.crm
        return cls(max_attempts=crm.max_attempts, backoff_seconds=crm.backoff_seconds,
                   backoff_cap_seconds=crm.backoff_cap_seconds,
                   lease_seconds=max(60.0, 4 * crm.timeout_seconds))


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0
    errors: list[str] = field(default_factory=list)


def record_reopen(session: Session, *, adapter: str, notice: ReopenNotice, now: datetime) -> CrmDelivery:
    """Queue the notice in the caller's transaction: it commits with the reopen, or not at all."""
    delivery_id = new_id("crm")
    row = CrmDelivery(id=delivery_id, case_id=notice.case_id, adapter=adapter,
                      payload=replace(notice, delivery_id=delivery_id).as_payload(), state="pending", attempts=0,
                      next_attempt_at=now, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


QUEUE = LeasedQueue(
    CrmDelivery, order_by=(CrmDelivery.next_attempt_at, CrmDelivery.id), attempts=CrmDelivery.attempts,
    ready=lambda now: [and_(CrmDelivery.state == "pending", CrmDelivery.next_attempt_at <= now,
                            lease_free(CrmDelivery, now))])


def _attempt(adapter: CrmAdapter, delivery_id: str, payload: dict) -> CrmDeliveryError | None:
    """One call to the CRM, outside any transaction; an adapter bug counts as a failed attempt, not a crash."""
    try:
        adapter.case_reopened(ReopenNotice.from_payload(payload))
    except CrmDeliveryError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - retried, then dead-lettered with the reason
        log.exception("CRM adapter %s failed on %s", adapter.name, delivery_id)
        return CrmDeliveryError(f"{adapter.name} adapter error: {type(exc).__name__}: {str(exc)[:200]}")
    return None


def _record(db: Database, lease: Lease, delivery_id: str, error: CrmDeliveryError | None, *, now: datetime,
            policy: RetryPolicy, report: DeliveryReport) -> None:
    """The outcome, only while this claim still holds the row (a late worker's outcome is dropped)."""
    with db.session() as session:
        row = QUEUE.held(session, lease, delivery_id)
        if row is None:
            log.warning("CRM delivery %s: the lease ran out and another worker has it; outcome dropped", delivery_id)
            report.lost += 1
            return
        finished(row)
        row.updated_at = now
        if error is None:
            row.state, row.delivered_at = "delivered", now
            report.delivered += 1
        elif (delay := retry.retry_delay(attempts=row.attempts, max_attempts=policy.max_attempts,
                                         permanent=error.permanent, base=policy.backoff_seconds,
                                         cap=policy.backoff_cap_seconds, retry_after=error.retry_after)) is not None:
            row.next_attempt_at = now + timedelta(seconds=delay)
            row.last_error = error.reason
            report.retried += 1
        else:
            row.state = "dead"
            row.last_error = retry.give_up_reason(error.reason, permanent=error.permanent, attempts=row.attempts)
            log.warning("CRM delivery %s for case %s is a dead letter: %s", row.id, row.case_id, row.last_error)
            report.dead += 1
        session.commit()


def deliver_pending(db: Database, adapter: CrmAdapter, *, now: datetime | None = None, clock: Clock | None = None,
                    policy: RetryPolicy = RetryPolicy(), worker: str | None = None) -> DeliveryReport:
    """One tick: lease what is due for this adapter, then deliver the rows one by one while the lease lasts."""
    clock = clock or (lambda: now)
    report = DeliveryReport()
    with db.session() as session:
        lease = QUEUE.claim(session, worker=worker or worker_name(), now=clock(), limit=policy.batch_size,
                            lease_seconds=policy.lease_seconds, returning=(CrmDelivery.id, CrmDelivery.payload),
                            filters=(CrmDelivery.adapter == adapter.name,))
    report.claimed = len(lease.rows)
    for n, (delivery_id, payload) in enumerate(lease.rows):
        if lease.running_out(clock()):
            with db.session() as session:
                QUEUE.release(session, lease, lease.ids[n:])
                session.commit()
            break
        try:
            _record(db, lease, delivery_id, _attempt(adapter, delivery_id, payload), now=clock(), policy=policy,
                    report=report)
        except Exception as exc:  # noqa: BLE001 - one bad row never stops the batch; its lease expires, it retries
            log.exception("CRM delivery %s could not be recorded; it will be retried", delivery_id)
            report.errors.append(f"{delivery_id}: {type(exc).__name__}")
    return report


def dead_letters(session: Session, *, limit: int = 100) -> list[CrmDelivery]:
    """Notices the CRM never took, newest first."""
    return list(session.scalars(select(CrmDelivery).where(CrmDelivery.state == "dead")
                                .order_by(CrmDelivery.updated_at.desc(), CrmDelivery.id).limit(limit)))


def retry_dead_letter(session: Session, *, delivery: CrmDelivery, now: datetime) -> CrmDelivery:
    """A manager fixed the cause: the dead letter starts over with a full set of attempts, due now."""
    delivery.state, delivery.attempts, delivery.next_attempt_at, delivery.updated_at = "pending", 0, now, now
    finished(delivery)
    session.flush()
    return delivery
