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
from dataclasses import replace
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from aftercare.core.clock import Clock
from aftercare.core.db import Database
from aftercare.core.ids import new_id
from aftercare.core.leased_queue import LeasedQueue, finished, lease_free, worker_name
from aftercare.core.outbox import OutboxPolicy, OutboxReport, drain
from followup.crm.base import CrmAdapter, CrmDeliveryError, ReopenNotice
from followup.crm.models import CrmDelivery

log = logging.getLogger("aftercare.crm")


def policy_from_settings(settings) -> OutboxPolicy:
    """`[crm]`'s retries; a lease outlasts four call timeouts."""
    crm = settings.crm
    return OutboxPolicy(max_attempts=crm.max_attempts, backoff_seconds=crm.backoff_seconds,
                        backoff_cap_seconds=crm.backoff_cap_seconds, lease_seconds=max(60.0, 4 * crm.timeout_seconds))


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


def deliver_pending(db: Database, adapter: CrmAdapter, *, now: datetime | None = None, clock: Clock | None = None,
                    policy: OutboxPolicy = OutboxPolicy(), worker: str | None = None) -> OutboxReport:
    """One tick: lease what is due for this adapter, then tell the CRM row by row while the lease lasts."""
    clock = clock or (lambda: now)

    def call(claimed) -> tuple[CrmDeliveryError | None, None]:
        delivery_id, payload = claimed
        return _attempt(adapter, delivery_id, payload), None

    def delivered(session, row: CrmDelivery, _result) -> None:
        row.delivered_at = row.updated_at

    return drain(db, QUEUE, call, done_state="delivered", on_done=delivered, clock=clock, policy=policy,
                 worker=worker or worker_name(), filters=(CrmDelivery.adapter == adapter.name,),
                 returning=(CrmDelivery.id, CrmDelivery.payload))


def deliver_every_adapter(db: Database, adapters, *, clock: Clock, policy: OutboxPolicy = OutboxPolicy(),
                          worker: str | None = None) -> dict[str, OutboxReport]:
    """One tick for every adapter that has notices due (`crm.adapter`'s and each desk's cases came from)."""
    with db.session() as session:
        names = list(session.scalars(select(CrmDelivery.adapter).where(
            CrmDelivery.state == "pending", CrmDelivery.next_attempt_at <= clock()).distinct()))
    return {name: deliver_pending(db, adapters.get(name), clock=clock, policy=policy, worker=worker)
            for name in sorted(names)}


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
