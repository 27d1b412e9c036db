"""The dispatcher: claim due check-ins in batches with a lease (SKIP LOCKED), send each, record the outcome.

The checkins table is the source of truth; APScheduler only calls `dispatch_due` every tick.
One bad check-in is logged and left for the next tick, never stops the batch.
"""
from __future__ import annotations

import logging
import os
import random
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Mapping

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from aftercare.db import Database
from followup.channels import Channel, OutboundMessage, PermanentSendError, SendResult, TransientSendError
from followup.models import Case, CheckIn, OptOut
from followup.services import opt_out

log = logging.getLogger("aftercare.dispatch")


@dataclass(frozen=True)
class DispatchConfig:
    batch_size: int = 100
    lease_seconds: int = 120
    max_attempts: int = 5
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    reconciled: int = 0
    errors: list[str] = field(default_factory=list)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_due(session: Session, *, now: datetime, worker: str, config: DispatchConfig) -> list[str]:
    """Lease a batch of due (or lease-expired) check-ins to this worker; others skip the locked rows."""
    due = or_(and_(CheckIn.state == "scheduled", CheckIn.due_at <= now),
              and_(CheckIn.state == "claimed", CheckIn.lease_until < now))
    ids = list(session.scalars(select(CheckIn.id).where(due).order_by(CheckIn.due_at).limit(config.batch_size)
                               .with_for_update(skip_locked=True)))
    if ids:
        session.execute(update(CheckIn).where(CheckIn.id.in_(ids)).values(
            state="claimed", claimed_by=worker, lease_until=now + timedelta(seconds=config.lease_seconds),
            updated_at=now))
    session.commit()
    return ids


def _message(checkin: CheckIn) -> OutboundMessage:
    return OutboundMessage(checkin_id=checkin.id, channel=checkin.channel, to=checkin.address, body=checkin.body,
                           subject=checkin.subject, reply_token=checkin.reply_token)


def _still_wanted(session: Session, checkin: CheckIn) -> str | None:
    """A reason to cancel instead of sending: opted out or case reopened since it was scheduled."""
    if session.get(OptOut, checkin.address) is not None:
        return "opted out before sending"
    case = session.get(Case, checkin.case_id)
    if case is not None and case.state == "reopened":
        return "case reopened: a person has it"
    return None


def backoff_seconds(attempt: int, config: DispatchConfig, retry_after: float | None = None,
                    rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter; a provider's Retry-After is a floor."""
    ceiling = min(config.backoff_cap_seconds, config.backoff_base_seconds * 2 ** max(0, attempt - 1))
    delay = ceiling / 2 + rng() * ceiling / 2
    return max(delay, retry_after or 0.0)


def dispatch_one(db: Database, channels: Mapping[str, Channel], checkin_id: str, *, worker: str,
                 now: datetime, config: DispatchConfig, report: DispatchReport) -> None:
    with db.session() as session:
        checkin = session.get(CheckIn, checkin_id)
        if checkin is None or checkin.state != "claimed" or checkin.claimed_by != worker:
            return
        cancel = _still_wanted(session, checkin)
        if cancel:
            checkin.state, checkin.state_reason, checkin.lease_until = "cancelled", cancel, None
            session.commit()
            report.cancelled += 1
            return
        message, channel = _message(checkin), channels[checkin.channel]
        tried_before = checkin.attempts > 0
        checkin.attempts += 1
        session.commit()
    outcome: SendResult | Exception
    try:
        outcome = channel.find_sent(message) if tried_before else None
        if outcome is not None:
            report.reconciled += 1
        else:
            outcome = channel.send(message)
    except (TransientSendError, PermanentSendError) as exc:
        outcome = exc
    _record(db, checkin_id, outcome, worker=worker, now=now, config=config, report=report)


def _record(db: Database, checkin_id: str, outcome, *, worker: str, now: datetime, config: DispatchConfig,
            report: DispatchReport) -> None:
    with db.session() as session:
        checkin = session.get(CheckIn, checkin_id)
        checkin.lease_until, checkin.updated_at = None, now
        if isinstance(outcome, SendResult):
            checkin.state, checkin.sent_at = "sent", now
            checkin.provider_message_id = outcome.provider_message_id
            report.sent += 1
        elif isinstance(outcome, TransientSendError) and checkin.attempts < config.max_attempts:
            checkin.state = "scheduled"
            checkin.due_at = now + timedelta(seconds=backoff_seconds(checkin.attempts, config, outcome.retry_after))
            checkin.state_reason = f"retrying: {outcome.reason}"
            report.retried += 1
        else:
            checkin.state, checkin.state_reason = "failed", f"{outcome.reason}" + (
                f" (after {checkin.attempts} attempts)" if isinstance(outcome, TransientSendError) else "")
            report.failed += 1
            if isinstance(outcome, PermanentSendError) and outcome.opt_out:
                opt_out(session, address=checkin.address, channel=checkin.channel,
                        source=f"provider: {outcome.reason}", now=now)
            if checkin.important:
                human_task_for_failed(session, checkin=checkin, now=now)
        session.commit()


def human_task_for_failed(session: Session, *, checkin: CheckIn, now: datetime) -> None:
    """An important case whose check-in could not reach the customer gets a person, not silence."""
    case = session.get(Case, checkin.case_id)
    wellbeing.enqueue_case_item(
        session, case_id=checkin.case_id, kind="human_task", team=case.team if case else None,
        preferred_agent_id=case.agent_id if case else None, now=now,
        title=f"Check-in could not be delivered ({checkin.channel}): reach the customer another way",
        details={"checkin_id": checkin.id, "reason": checkin.state_reason})


def dispatch_due(db: Database, channels: Mapping[str, Channel], *, now: datetime | None = None,
                 worker: str | None = None, config: DispatchConfig = DispatchConfig(),
                 clock: Callable[[], datetime] | None = None) -> DispatchReport:
    """One tick: claim a batch, then handle the claimed check-ins one by one."""
    from aftercare.db import utcnow

    clock = clock or utcnow
    now = now or clock()
    worker = worker or worker_name()
    report = DispatchReport()
    with db.session() as session:
        ids = claim_due(session, now=now, worker=worker, config=config)
    report.claimed = len(ids)
    for checkin_id in ids:
        try:
            dispatch_one(db, channels, checkin_id, worker=worker, now=now, config=config, report=report)
        except Exception as exc:  # noqa: BLE001 - one bad item never stops the batch
            log.exception("dispatch of %s failed; it will be retried when its lease expires", checkin_id)
            report.errors.append(f"{checkin_id}: {type(exc).__name__}")
    return report
