"""Recording the events outcome metrics need, and the thin loader from tables to `followup.outcomes` records."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from aftercare.core.ids import new_id
from followup import outcomes as oc
from followup.models import Case, CheckIn, Interaction, Reply
from followup.outcome_models import ChurnEvent, ContactEvent

CHUNK = 500


def record_churn(session: Session, *, event_id: str, customer_id: str, occurred_at: datetime, reason: str | None,
                 now: datetime) -> dict:
    session.add(ChurnEvent(id=new_id("churn"), event_id=event_id, customer_id=customer_id, occurred_at=occurred_at,
                           reason=reason, received_at=now))
    session.flush()
    return {"customer_id": customer_id, "churned_at": occurred_at.isoformat(), "recorded": True}


def record_contact(session: Session, *, event_id: str, customer_id: str, case_id: str | None,
                   journey_stage: str | None, category: str | None, occurred_at: datetime, now: datetime) -> None:
    """A customer came back by themselves; stage, category and team fall back to the case's."""
    case = session.get(Case, case_id) if case_id else None
    session.add(ContactEvent(id=new_id("ctc"), event_id=event_id, customer_id=customer_id, case_id=case_id,
                             team=case.team if case else None,
                             journey_stage=journey_stage or (case.journey_stage if case else None),
                             category=category or (case.category if case else None), occurred_at=occurred_at,
                             received_at=now))
    session.flush()


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _interaction(row: Interaction) -> oc.InteractionRec:
    return oc.InteractionRec(
        id=row.id, case_id=row.case_id, customer_id=row.customer_id, ended_at=row.ended_at, started_at=row.started_at,
        team=row.team, journey_stage=row.journey_stage, category=row.category, channel=row.channel,
        escalated_from_bot=row.escalated_from_bot, important=row.important,
        emotional_load=float((row.triage_scores or {}).get("emotional_load", 0.0)),
        triage_decision=row.triage_decision, held_out=row.held_out)


def _routed_at(session: Session, reply: Reply) -> datetime | None:
    """When the reopened case's item entered the human queue (through wellbeing's public interface)."""
    for item in wellbeing.queue_items(session, state=None, case_id=reply.case_id):
        if (item.get("details") or {}).get("reply_id") == reply.id:
            created = item["created_at"]
            return datetime.fromisoformat(created) if isinstance(created, str) else created
    return None


def load_history(session: Session, *, start: datetime, end: datetime) -> oc.History:
    """Everything from 7 days before the window (for repeats) on, plus the whole history of its cases."""
    since = start - max(oc.REPEAT_WITHIN, oc.STAY_CLOSED)
    rows = list(session.scalars(select(Interaction).where(Interaction.ended_at >= since)))
    case_ids = sorted({r.case_id for r in rows})
    for chunk in _chunks(case_ids):
        rows += session.scalars(select(Interaction).where(Interaction.case_id.in_(chunk), Interaction.ended_at < since))
    interactions = [_interaction(r) for r in rows]
    by_id = {i.id: i for i in interactions}
    cases = [oc.CaseRec(id=c.id, closed_at=c.closed_at, reopened_at=c.reopened_at, team=c.team,
                        journey_stage=c.journey_stage)
             for chunk in _chunks(case_ids) for c in session.scalars(select(Case).where(Case.id.in_(chunk)))]
    case_by_id = {c.id: c for c in cases}
    checkins = []
    # Fix notices (known problems, followup.problems) are counted on their own (loop_outcomes), not as check-ins.
    for c in session.scalars(select(CheckIn).where(CheckIn.sent_at >= start, CheckIn.sent_at < end,
                                                   CheckIn.kind == "checkin")):
        origin = by_id.get(c.interaction_id)
        checkins.append(oc.CheckinRec(id=c.id, case_id=c.case_id, sent_at=c.sent_at, channel=c.channel,
                                      team=origin.team if origin else None,
                                      journey_stage=origin.journey_stage if origin else None))
    replies = []
    reply_rows = session.scalars(select(Reply).where(Reply.received_at >= since).order_by(Reply.received_at))
    for r in reply_rows:
        reopened = (r.action or "").startswith("reopened")
        case = case_by_id.get(r.case_id or "")
        replies.append(oc.ReplyRec(
            id=r.id, received_at=r.received_at, intent=r.intent, checkin_id=r.checkin_id, case_id=r.case_id,
            reopened=reopened, routed_at=_routed_at(session, r) if reopened and start <= r.received_at < end else None,
            team=case.team if case else None, journey_stage=case.journey_stage if case else None))
    contacts = [oc.ContactRec(customer_id=e.customer_id, at=e.occurred_at, category=e.category,
                              journey_stage=e.journey_stage, team=e.team)
                for e in session.scalars(select(ContactEvent).where(ContactEvent.occurred_at >= since))]
    churns = [oc.ChurnRec(customer_id=e.customer_id, at=e.occurred_at)
              for e in session.scalars(select(ChurnEvent).where(ChurnEvent.occurred_at >= start))]
    return oc.History(interactions=interactions, contacts=contacts, cases=cases, checkins=checkins, replies=replies,
                      churns=churns)


def outcome_report(session: Session, *, start: datetime, end: datetime, now: datetime, team: str | None = None,
                   journey_stage: str | None = None, high_threshold: float = 0.7) -> dict:
    """Load, add wellbeing's break statistics, compute."""
    history = load_history(session, start=start, end=end)
    breaks = wellbeing.break_stats(session, start=start, end=end, team=team)
    window = oc.Window(start=start, end=end, as_of=now, team=team, journey_stage=journey_stage)
    return oc.compute_outcomes(dataclasses.replace(history, breaks=breaks), window,
                               high_threshold=high_threshold)


def default_window(now: datetime, days: int = 30) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now
