"""The wellbeing part of the scheduler tick: end breaks whose time is up, decide deferred breaks again, and
deliver routing commands. Due breaks are worked as leased queues (`aftercare.core.leased_queue`), each in its
own transaction, so workers never double up; one bad break is logged and skipped, never stops the batch."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_

from aftercare.core.db import Database
from aftercare.core.leased_queue import Lease, LeasedQueue, finished, lease_free, worker_name
from aftercare.core.outage import database_unreachable
from wellbeing.breaks import decide_break, end_break
from wellbeing.context import context_of
from wellbeing.models import Agent, Break
from wellbeing.routing.outbox import deliver_pending
from wellbeing.rulesets import active_rules

log = logging.getLogger("aftercare.wellbeing")
BATCH = 200


@dataclass
class TickReport:
    ended: int = 0
    decided: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


ENDING = LeasedQueue(Break, order_by=(Break.ends_at, Break.id),
                     ready=lambda now: [and_(Break.state == "on_break", Break.ends_at <= now, lease_free(Break, now))])
DEFERRED = LeasedQueue(Break, order_by=(Break.requested_at, Break.id),
                       ready=lambda now: [and_(Break.state == "deferred", Break.retry_at <= now,
                                               lease_free(Break, now))])
LEASE_SECONDS = 60.0


def process_breaks(db: Database, *, now: datetime, worker: str | None = None) -> TickReport:
    """One tick: breaks over first (they free room under the caps), then retries, oldest request first."""
    report, worker = TickReport(), worker or worker_name()
    with db.session() as session:
        context = context_of(session)
    for queue, state, act in ((ENDING, "on_break", _end), (DEFERRED, "deferred", _retry)):
        with db.session() as session:
            lease = queue.claim(session, worker=worker, now=now, limit=BATCH, lease_seconds=LEASE_SECONDS)
        for break_id in lease.ids:
            _one(db, queue, lease, break_id, state, act, now, report)
    deliver_pending(db, context.routing, now=now, policy=context.outbox, worker=worker)
    return report


def _end(session, brk: Break, now: datetime, report: TickReport) -> None:
    end_break(session, brk, session.get(Agent, brk.agent_id), at=brk.ends_at, reason="time is up")
    report.ended += 1


def _retry(session, brk: Break, now: datetime, report: TickReport) -> None:
    agent = session.get(Agent, brk.agent_id)
    rule_set, _ = active_rules(session, agent.team)
    outcome = decide_break(session, brk, agent, rule_set.guards, now).outcome
    report.decided += 1
    report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1


def _one(db: Database, queue: LeasedQueue, lease: Lease, break_id: str, state: str, act, now: datetime,
         report: TickReport) -> None:
    """Act only while this claim holds the break and it is still in `state`."""
    try:
        with db.session() as session:
            brk = queue.held(session, lease, break_id)
            if brk is None or brk.state != state:
                return
            finished(brk)
            act(session, brk, now, report)
            session.commit()
    except Exception as exc:  # noqa: BLE001 - one bad break never stops the batch; it is retried next tick
        if database_unreachable(exc):
            raise  # not a bad item: the database is away, and the tick waits it out
        log.exception("break %s could not be processed", break_id)
        report.errors.append(f"{break_id}: {type(exc).__name__}")
        with db.session() as session:
            queue.release(session, lease, [break_id])
            session.commit()
