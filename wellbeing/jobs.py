"""The wellbeing part of the scheduler tick: end breaks whose time is up, decide deferred breaks again, and
deliver routing commands. Each break is handled in its own transaction, locked so workers never double up;
one bad break is logged and skipped, never stops the batch."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from aftercare.core.db import Database
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


def process_breaks(db: Database, *, now: datetime) -> TickReport:
    """One tick: breaks over first (they free room under the caps), then retries, oldest request first."""
    report = TickReport()
    with db.session() as session:
        over = list(session.scalars(select(Break.id).where(Break.state == "on_break", Break.ends_at <= now)
                                    .order_by(Break.ends_at).limit(BATCH)))
        due = list(session.scalars(select(Break.id).where(Break.state == "deferred", Break.retry_at <= now)
                                   .order_by(Break.requested_at, Break.id).limit(BATCH)))
        context = context_of(session)
    for break_id in over:
        _one(db, break_id, "on_break", _end, now, report)
    for break_id in due:
        _one(db, break_id, "deferred", _retry, now, report)
    deliver_pending(db, context.routing, now=now, policy=context.outbox)
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


def _one(db: Database, break_id: str, state: str, act, now: datetime, report: TickReport) -> None:
    try:
        with db.session() as session:
            brk = session.scalars(select(Break).where(Break.id == break_id, Break.state == state)
                                  .with_for_update(skip_locked=True)).first()
            if brk is None:
                return
            act(session, brk, now, report)
            session.commit()
    except Exception as exc:  # noqa: BLE001 - one bad break never stops the batch; it is retried next tick
        log.exception("break %s could not be processed", break_id)
        report.errors.append(f"{break_id}: {type(exc).__name__}")
