"""An agent's commitment to a customer: remind the agent before it is due; escalate to the team lead if missed.

A commitment comes with an `interaction.closed` event; any `case.updated` for its case by `due_at` keeps it.
`process_commitments` is the scheduler's job: reminders go to the agent, misses go to the team through the
routing queue (wellbeing's public interface). Due commitments are worked as a leased queue
(`aftercare.core.leased_queue`), each in its own transaction, so workers sharing the table never remind or
escalate twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from aftercare.core.db import Database
from aftercare.core.ids import new_id
from aftercare.core.leased_queue import Lease, LeasedQueue, finished, lease_free, worker_name
from aftercare.core.outage import database_unreachable
from followup.commitment_models import OPEN_COMMITMENT_STATES, Commitment
from followup.models import Interaction

log = logging.getLogger("aftercare.commitments")


@dataclass
class CommitmentReport:
    reminded: int = 0
    escalated: int = 0
    errors: list[str] = field(default_factory=list)


def record_commitment(session: Session, *, interaction: Interaction, lead_minutes: float,
                      now: datetime) -> Commitment | None:
    """Track the commitment the interaction carries, if any; the reminder is due `lead_minutes` before it."""
    if not interaction.commitment_text or interaction.commitment_due_at is None:
        return None
    due_at = interaction.commitment_due_at
    commitment = Commitment(
        id=new_id("cmt"), case_id=interaction.case_id, interaction_id=interaction.id, agent_id=interaction.agent_id,
        agent_name=interaction.agent_name, team=interaction.team, text=interaction.commitment_text, due_at=due_at,
        remind_at=_minus(due_at, timedelta(minutes=lead_minutes)), state="pending", created_at=now, updated_at=now)
    session.add(commitment)
    session.flush()
    return commitment


def _minus(at: datetime, lead: timedelta) -> datetime:
    """`at - lead`, or `at` itself for a due time so early that subtracting would leave the calendar."""
    try:
        return at - lead
    except OverflowError:
        return at


def keep_commitments(session: Session, *, case_id: str, now: datetime) -> list[str]:
    """The agent updated the case in time: its open commitments are kept (a late update leaves them missed)."""
    kept = list(session.scalars(select(Commitment).where(
        Commitment.case_id == case_id, Commitment.state.in_(OPEN_COMMITMENT_STATES), Commitment.created_at <= now,
        Commitment.due_at >= now)))
    for commitment in kept:
        commitment.state, commitment.kept_at, commitment.updated_at = "kept", now, now
        commitment.state_reason = "case.updated before it was due"
    session.flush()
    return [c.id for c in kept]


def _utc(at: datetime) -> str:
    return at.strftime("%H:%M UTC on %d %b")


def _remind(session: Session, commitment: Commitment, now: datetime) -> None:
    routing = wellbeing.enqueue_case_item(
        session, case_id=commitment.case_id, kind="commitment_reminder", team=commitment.team,
        preferred_agent_id=commitment.agent_id, now=now,
        title=f"Reminder: you promised “{commitment.text[:200]}” — due {_utc(commitment.due_at)}",
        details={"commitment_id": commitment.id, "text": commitment.text, "due_at": commitment.due_at.isoformat()})
    commitment.state, commitment.reminded_at, commitment.reminder_item_id = "reminded", now, routing.item_id
    commitment.state_reason = f"reminder queued: {routing.reason}"


def _escalate(session: Session, commitment: Commitment, now: datetime) -> None:
    who = commitment.agent_name or commitment.agent_id or "the agent"
    reason = f"commitment missed: {who} promised “{commitment.text[:200]}” by {_utc(commitment.due_at)}, " \
             "and the case was not updated"
    routing = wellbeing.enqueue_case_item(
        session, case_id=commitment.case_id, kind="escalation", team=commitment.team, preferred_agent_id=None,
        now=now, title=f"Missed commitment on case {commitment.case_id}: “{commitment.text[:150]}” ({who})",
        details={"commitment_id": commitment.id, "escalate_to": "team_lead", "reason": reason,
                 "agent_id": commitment.agent_id, "text": commitment.text, "due_at": commitment.due_at.isoformat()})
    commitment.state, commitment.escalated_at, commitment.escalation_item_id = "escalated", now, routing.item_id
    commitment.state_reason = reason


# Overdue commitments are escalated first, then those due soon are reminded; each kind is a leased queue.
ESCALATIONS = LeasedQueue(
    Commitment, order_by=(Commitment.due_at, Commitment.id),
    ready=lambda now: [and_(Commitment.state.in_(OPEN_COMMITMENT_STATES), Commitment.due_at < now,
                            lease_free(Commitment, now))])
REMINDERS = LeasedQueue(
    Commitment, order_by=(Commitment.remind_at, Commitment.id),
    ready=lambda now: [and_(Commitment.state == "pending", Commitment.remind_at <= now, lease_free(Commitment, now))])
LEASE_SECONDS = 60.0


def _handle_one(db: Database, queue: LeasedQueue, lease: Lease, commitment_id: str, *, states: tuple[str, ...],
                act, now: datetime) -> bool:
    """Act only while this claim holds the commitment and it is still in one of `states`."""
    with db.session() as session:
        commitment = queue.held(session, lease, commitment_id)
        if commitment is None or commitment.state not in states:
            return False
        act(session, commitment, now)
        finished(commitment)
        commitment.updated_at = now
        session.commit()
        return True


def process_commitments(db: Database, *, now: datetime, batch_size: int = 100,
                        worker: str | None = None) -> CommitmentReport:
    """One tick: escalate what is overdue, then remind what is due soon; one bad commitment never stops the rest."""
    report = CommitmentReport()
    jobs = (("escalated", ESCALATIONS, OPEN_COMMITMENT_STATES, _escalate), ("reminded", REMINDERS, ("pending",), _remind))
    for counter, queue, states, act in jobs:
        with db.session() as session:
            lease = queue.claim(session, worker=worker or worker_name(), now=now, limit=batch_size,
                                lease_seconds=LEASE_SECONDS)
        for commitment_id in lease.ids:
            try:
                if _handle_one(db, queue, lease, commitment_id, states=states, act=act, now=now):
                    setattr(report, counter, getattr(report, counter) + 1)
            except Exception as exc:  # noqa: BLE001 - logged and skipped; handed back for the next tick
                if database_unreachable(exc):
                    raise  # not a bad item: the database is away, and the tick waits it out
                log.exception("commitment %s could not be processed", commitment_id)
                report.errors.append(f"{commitment_id}: {type(exc).__name__}")
                with db.session() as session:
                    queue.release(session, lease, [commitment_id])
                    session.commit()
    return report
