"""How a chunk's state changes are written: the crash marker before the provider is called, then the outcomes,
each a few set-based statements, and every one only for rows the claim still holds."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, case, func, literal, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from aftercare.core.db import UTCDateTime
from aftercare.core.leased_queue import Lease, among, finished, is_sqlite
from followup.channels import SendResult
from followup.checkins import opt_out
from followup.dispatch.claim import CHECKINS
from followup.dispatch.config import DispatchConfig, DispatchReport
from followup.dispatch.outcome_policy import FAILED, RETRY, judge
from followup.models import Case, CheckIn

_checkins = CheckIn.__table__


def release(checkin: CheckIn, *, due_at: datetime, reason: str) -> None:
    """Back to scheduled, due later (a retry, a deferral, a wait for callbacks)."""
    checkin.state, checkin.due_at, checkin.state_reason = "scheduled", due_at, reason
    finished(checkin)


def mark_sent(checkin: CheckIn, result: SendResult, now: datetime) -> None:
    """A status callback that got there first (delivered, say) keeps its state."""
    if checkin.state in ("claimed", "scheduled"):
        checkin.state = "sent"
    checkin.sent_at = checkin.sent_at or now
    checkin.provider_message_id = result.provider_message_id
    checkin.send_started_at = None
    finished(checkin)


def cancel_claimed(session: Session, lease: Lease, reasons: dict[str, str], *, now: datetime) -> None:
    for checkin_id, reason in reasons.items():
        session.execute(update(CheckIn).where(CheckIn.id == checkin_id, CheckIn.state == "claimed",
                                              CHECKINS.owned(lease))
                        .values(state="cancelled", state_reason=reason, lease_until=None, claimed_by=None,
                                updated_at=now)
                        .execution_options(synchronize_session=False))


def mark_started(session: Session, lease: Lease, ids: list[str], *, now: datetime) -> set[str]:
    """The crash marker, committed before the provider is called; only rows still ours are marked."""
    if not ids:
        return set()
    return set(session.scalars(update(CheckIn).where(
        among(session, CheckIn.id, ids), CheckIn.state == "claimed", CHECKINS.owned(lease),
        CheckIn.send_started_at.is_(None)).values(attempts=CheckIn.attempts + 1, send_started_at=now, updated_at=now)
        .returning(CheckIn.id).execution_options(synchronize_session=False)))


def apply_outcome(session: Session, checkin: CheckIn, outcome, *, now: datetime, config: DispatchConfig,
                  report: DispatchReport) -> None:
    """One check-in's outcome, by the outcome policy."""
    checkin.updated_at = now
    verdict = judge(outcome, attempts=checkin.attempts, config=config)
    if verdict.kind == RETRY:
        release(checkin, due_at=now + timedelta(seconds=verdict.retry_in_seconds), reason=verdict.reason)
        checkin.send_started_at = None
        report.retried += 1
    elif verdict.kind == FAILED:
        checkin.state, checkin.state_reason = "failed", verdict.reason
        checkin.send_started_at = None
        finished(checkin)
        if verdict.opt_out:
            opt_out(session, address=checkin.address, channel=checkin.channel, source=f"provider: {outcome.reason}",
                    now=now)
        if checkin.important:
            human_task_for_failed(session, checkin=checkin, now=now)
        report.failed += 1
    else:
        mark_sent(checkin, outcome, now)
        report.sent += 1


def human_task_for_failed(session: Session, *, checkin: CheckIn, now: datetime) -> None:
    """An important case whose check-in could not reach the customer gets a person, not silence."""
    case_row = session.get(Case, checkin.case_id)
    wellbeing.enqueue_case_item(
        session, case_id=checkin.case_id, kind="human_task", team=case_row.team if case_row else None,
        preferred_agent_id=case_row.agent_id if case_row else None, now=now,
        title=f"Check-in could not reach the customer by {checkin.channel}: reach them another way",
        details={"checkin_id": checkin.id, "reason": checkin.state_reason})


def _sent_values(now, provider_message_id) -> dict:
    """`mark_sent` as SQL."""
    c = _checkins.c
    return dict(state=case((or_(c.state == literal_column("'claimed'"), c.state == literal_column("'scheduled'")),
                            literal_column("'sent'")), else_=c.state),
                sent_at=func.coalesce(c.sent_at, now), provider_message_id=provider_message_id, lease_until=None,
                claimed_by=None, send_started_at=None, updated_at=now)


# SQLite: one executemany; PostgreSQL: one UPDATE … FROM unnest(ids, provider ids).
_MARK_SENT = update(_checkins).where(_checkins.c.id == bindparam("b_id"), _checkins.c.claimed_by == bindparam("b_owner")) \
    .values(**_sent_values(bindparam("b_now", type_=UTCDateTime()), bindparam("b_pid")))


def mark_sent_many(session: Session, lease: Lease, accepted: list[tuple[str, str]], now: datetime) -> int:
    """Accepted sends of a chunk in one statement; rows another claim took over are left alone."""
    if is_sqlite(session):
        return session.execute(_MARK_SENT, [{"b_id": checkin_id, "b_pid": pid, "b_now": now, "b_owner": lease.owner}
                                            for checkin_id, pid in accepted]).rowcount
    ids, pids = zip(*accepted)
    v = select(func.unnest(literal(list(ids), ARRAY(String))).label("id"),
               func.unnest(literal(list(pids), ARRAY(String))).label("pid")).subquery("v")
    return session.execute(update(_checkins).where(_checkins.c.id == v.c.id, _checkins.c.claimed_by == lease.owner)
                           .values(**_sent_values(literal(now, UTCDateTime()), v.c.pid))).rowcount


def record_many(db, lease: Lease, outcomes: list, *, now: datetime, config: DispatchConfig, report: DispatchReport,
                unsent: list[str] = ()) -> None:
    """Outcomes of a chunk in one transaction: accepted sends in one statement, errors one by one; `unsent`
    (marked but never handed to the provider) lose the marker so `release_claims` hands them back."""
    if not outcomes and not unsent:
        return
    accepted = [(checkin_id, outcome.provider_message_id) for checkin_id, outcome in outcomes
                if isinstance(outcome, SendResult)]
    with db.session() as session:
        if accepted:
            written = mark_sent_many(session, lease, accepted, now)
            report.sent += written
            report.lost += len(accepted) - written
        for checkin_id, outcome in outcomes:
            if isinstance(outcome, SendResult):
                continue
            checkin = CHECKINS.held(session, lease, checkin_id)
            if checkin is None:
                report.lost += 1
                continue
            apply_outcome(session, checkin, outcome, now=now, config=config, report=report)
        if unsent:
            session.execute(update(CheckIn).where(among(session, CheckIn.id, unsent), CHECKINS.owned(lease)).values(
                attempts=CheckIn.attempts - 1, send_started_at=None, updated_at=now)
                .execution_options(synchronize_session=False))
        session.commit()
