"""The dispatcher: claim due check-ins in batches with a lease (SKIP LOCKED), send each, record the outcome.

The checkins table is the source of truth; APScheduler only calls `dispatch_backlog` every tick, which
claims batch after batch while full ones come back. One bad check-in is logged and left for its lease to
expire, never stops the batch.

Batched: a batch is claimed with one UPDATE … RETURNING (what sending needs), then handled in chunks:
cancellations checked for the chunk in two queries, the chunk marked "send started" in one statement and
one commit, sent, and its outcomes recorded in one statement and one commit. In-doubt and rate-limited
check-ins go one by one (reconciliation, shared send slots). A worker never sends on a lease that is about
to run out; what it did not send goes back.

Crash safety: `send_started_at` is committed before the provider is called and cleared when the outcome
is recorded. A claimed check-in whose lease expired with `send_started_at` set is *in doubt*: the
provider may have accepted it. It is reconciled first (a status callback/event already recorded the
provider id, or the channel finds the message), waits `reconcile_grace_seconds` for callbacks, and only
then is sent again.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Mapping

from sqlalchemy import String, any_, bindparam, case, func, literal, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from aftercare.core.retry import give_up_reason, retry_delay
from aftercare.core.db import Database, UTCDateTime
from aftercare.core.clock import utcnow
from followup.channels import Channel, OutboundMessage, PermanentSendError, SendResult, TransientSendError
from followup.models import Case, CheckIn, OptOut, SenderSlot
from followup.services import opt_out

log = logging.getLogger("aftercare.dispatch")


@dataclass(frozen=True)
class DispatchConfig:
    batch_size: int = 500
    lease_seconds: int = 120
    max_attempts: int = 5
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    reconcile_grace_seconds: float = 600.0
    max_rate_wait_seconds: float = 1.0
    # Marked "send started" together: after a SIGKILL at most this many are in doubt (reconciled, never resent blind).
    chunk_size: int = 200
    # A tick keeps claiming while full batches come back, for at most this long (a backlog drains at full speed).
    drain_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings) -> "DispatchConfig":
        s = settings.scheduler
        return cls(batch_size=s.batch_size, lease_seconds=s.lease_seconds, max_attempts=s.max_attempts,
                   backoff_base_seconds=s.backoff_base_seconds, backoff_cap_seconds=s.backoff_cap_seconds,
                   reconcile_grace_seconds=s.reconcile_grace_seconds)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    reconciled: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "DispatchReport") -> None:
        for name in ("claimed", "sent", "retried", "failed", "cancelled", "reconciled", "deferred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _among(session: Session, column, values) -> object:
    """`column IN values`; one array parameter on PostgreSQL: a short statement psycopg prepares once,
    instead of a statement per list length with a placeholder per id."""
    values = list(values)
    return column == any_(literal(values, ARRAY(String))) if _is_pg(session) else column.in_(values)


# What sending needs, returned by the claim itself (no second read of the batch).
_CLAIMED = (CheckIn.id, CheckIn.channel, CheckIn.address, CheckIn.body, CheckIn.subject, CheckIn.reply_token,
            CheckIn.case_id, CheckIn.send_started_at)


def _due_ids(session: Session, *, now: datetime, limit: int) -> list[str]:
    """Expired leases first, then the earliest due: two index range scans (state, due_at) that stop at `limit`.

    (One `OR` of both would make PostgreSQL sort every due row for each batch.)
    """
    ids = list(session.scalars(select(CheckIn.id).where(CheckIn.state == "claimed", CheckIn.lease_until < now)
                               .order_by(CheckIn.due_at).limit(limit).with_for_update(skip_locked=True)))
    if len(ids) < limit:
        ids += session.scalars(select(CheckIn.id).where(CheckIn.state == "scheduled", CheckIn.due_at <= now)
                               .order_by(CheckIn.due_at).limit(limit - len(ids)).with_for_update(skip_locked=True))
    return ids


def _claim(session: Session, *, now: datetime, worker: str, config: DispatchConfig) -> list:
    """Lease a batch of due (or lease-expired) check-ins to this worker; others skip the locked rows."""
    ids = _due_ids(session, now=now, limit=config.batch_size)
    rows = []
    if ids:
        rows = session.execute(update(CheckIn).where(_among(session, CheckIn.id, ids)).values(
            state="claimed", claimed_by=worker, lease_until=now + timedelta(seconds=config.lease_seconds),
            updated_at=now).returning(*_CLAIMED).execution_options(synchronize_session=False)).all()
    session.commit()
    order = {checkin_id: i for i, checkin_id in enumerate(ids)}
    return sorted(rows, key=lambda row: order[row.id])


def claim_due(session: Session, *, now: datetime, worker: str, config: DispatchConfig) -> list[str]:
    """Lease a batch of due (or lease-expired) check-ins to this worker; their ids, earliest due first."""
    return [row.id for row in _claim(session, now=now, worker=worker, config=config)]


def _message(checkin) -> OutboundMessage:
    return OutboundMessage(checkin_id=checkin.id, channel=checkin.channel, to=checkin.address, body=checkin.body,
                           subject=checkin.subject, reply_token=checkin.reply_token)


def _cancel_reason(session: Session, checkin: CheckIn) -> str | None:
    """A reason to cancel instead of sending: opted out or case reopened since it was scheduled."""
    if session.get(OptOut, checkin.address) is not None:
        return "opted out before sending"
    case = session.get(Case, checkin.case_id)
    if case is not None and case.state == "reopened":
        return "case reopened: a person has it"
    return None


def reserve_send_slot(db: Database, sender: str, per_second: float, now: datetime) -> datetime:
    """The moment this sender may next send, shared by all workers through the sender_slots row."""
    interval = timedelta(seconds=1.0 / per_second)
    for _ in range(3):
        with db.session() as session:
            slot = session.get(SenderSlot, sender, with_for_update=True)
            if slot is None:
                slot = SenderSlot(sender=sender, next_free_at=now)
                session.add(slot)
            start = max(slot.next_free_at, now)
            slot.next_free_at = start + interval
            try:
                session.commit()
                return start
            except IntegrityError:
                session.rollback()
    raise RuntimeError(f"could not reserve a send slot for {sender}")


def _release(checkin: CheckIn, *, due_at: datetime, reason: str) -> None:
    checkin.state, checkin.due_at, checkin.state_reason = "scheduled", due_at, reason
    checkin.lease_until = checkin.claimed_by = None


def dispatch_one(db: Database, channels: Mapping[str, Channel], checkin_id: str, *, worker: str,
                 now: datetime, config: DispatchConfig, report: DispatchReport) -> None:
    with db.session() as session:
        checkin = session.get(CheckIn, checkin_id)
        if checkin is None or checkin.state != "claimed" or checkin.claimed_by != worker:
            return
        cancel = _cancel_reason(session, checkin)
        if cancel:
            checkin.state, checkin.state_reason, checkin.lease_until = "cancelled", cancel, None
            session.commit()
            report.cancelled += 1
            return
        message, channel = _message(checkin), channels[checkin.channel]
        if checkin.send_started_at is not None:
            if checkin.provider_message_id:
                _mark_sent(checkin, SendResult(checkin.provider_message_id), now)
                session.commit()
                report.reconciled += 1
                return
            try:
                found = channel.find_sent(message)
            except TransientSendError as exc:
                _release(checkin, due_at=now + timedelta(seconds=config.reconcile_grace_seconds),
                         reason=f"in doubt after a crash and the provider could not be asked: {exc.reason}")
                session.commit()
                report.deferred += 1
                return
            if found is not None:
                _mark_sent(checkin, found, now)
                session.commit()
                report.reconciled += 1
                return
            wait_until = checkin.send_started_at + timedelta(seconds=config.reconcile_grace_seconds)
            if now < wait_until:
                _release(checkin, due_at=wait_until, reason="in doubt after a crash: waiting for provider callbacks")
                session.commit()
                report.deferred += 1
                return
        session.commit()
    if channel.sender and channel.max_per_second > 0:
        start = reserve_send_slot(db, channel.sender, channel.max_per_second, now)
        wait = (start - now).total_seconds()
        if wait > config.max_rate_wait_seconds:
            _defer(db, checkin_id, due_at=start, reason=f"rate limit for {channel.sender}")
            report.deferred += 1
            return
        if wait > 0:
            time.sleep(wait)
    with db.session() as session:
        checkin = session.get(CheckIn, checkin_id)
        checkin.attempts += 1
        checkin.send_started_at = now
        session.commit()
    try:
        outcome: SendResult | TransientSendError | PermanentSendError = channel.send(message)
    except (TransientSendError, PermanentSendError) as exc:
        outcome = exc
    _record(db, checkin_id, outcome, now=now, config=config, report=report)


def _defer(db: Database, checkin_id: str, *, due_at: datetime, reason: str) -> None:
    with db.session() as session:
        _release(session.get(CheckIn, checkin_id), due_at=due_at, reason=reason)
        session.commit()


def _mark_sent(checkin: CheckIn, result: SendResult, now: datetime) -> None:
    if checkin.state in ("claimed", "scheduled"):
        checkin.state = "sent"
    checkin.sent_at = checkin.sent_at or now
    checkin.provider_message_id = result.provider_message_id
    checkin.lease_until, checkin.send_started_at = None, None


def _record(db: Database, checkin_id: str, outcome, *, now: datetime, config: DispatchConfig,
            report: DispatchReport) -> None:
    with db.session() as session:
        _apply_outcome(session, session.get(CheckIn, checkin_id), outcome, now=now, config=config, report=report)
        session.commit()


def _apply_outcome(session: Session, checkin: CheckIn, outcome, *, now: datetime, config: DispatchConfig,
                   report: DispatchReport) -> None:
    checkin.updated_at = now
    if isinstance(outcome, SendResult):
        _mark_sent(checkin, outcome, now)
        report.sent += 1
        return
    permanent = isinstance(outcome, PermanentSendError)
    delay = retry_delay(attempts=checkin.attempts, max_attempts=config.max_attempts, permanent=permanent,
                        base=config.backoff_base_seconds, cap=config.backoff_cap_seconds,
                        retry_after=None if permanent else outcome.retry_after)
    if delay is not None:
        _release(checkin, due_at=now + timedelta(seconds=delay), reason=f"retrying: {outcome.reason}")
        checkin.send_started_at = None
        report.retried += 1
    else:
        _fail(session, checkin, outcome, now=now)
        report.failed += 1


def _fail(session: Session, checkin: CheckIn, error: TransientSendError | PermanentSendError, *,
          now: datetime) -> None:
    checkin.state = "failed"
    checkin.state_reason = give_up_reason(error.reason, permanent=isinstance(error, PermanentSendError),
                                          attempts=checkin.attempts)
    checkin.lease_until, checkin.send_started_at = None, None
    if isinstance(error, PermanentSendError) and error.opt_out:
        opt_out(session, address=checkin.address, channel=checkin.channel, source=f"provider: {error.reason}",
                now=now)
    if checkin.important:
        human_task_for_failed(session, checkin=checkin, now=now)


def human_task_for_failed(session: Session, *, checkin: CheckIn, now: datetime) -> None:
    """An important case whose check-in could not reach the customer gets a person, not silence."""
    case = session.get(Case, checkin.case_id)
    wellbeing.enqueue_case_item(
        session, case_id=checkin.case_id, kind="human_task", team=case.team if case else None,
        preferred_agent_id=case.agent_id if case else None, now=now,
        title=f"Check-in could not reach the customer by {checkin.channel}: reach them another way",
        details={"checkin_id": checkin.id, "reason": checkin.state_reason})


def release_claims(db: Database, *, worker: str) -> int:
    """On graceful shutdown: hand back claimed check-ins this worker has not started sending."""
    with db.session() as session:
        released = session.execute(update(CheckIn).where(
            CheckIn.state == "claimed", CheckIn.claimed_by == worker, CheckIn.send_started_at.is_(None)).values(
            state="scheduled", claimed_by=None, lease_until=None)).rowcount
        session.commit()
    return released


def dispatch_due(db: Database, channels: Mapping[str, Channel], *, now: datetime | None = None,
                 worker: str | None = None, config: DispatchConfig = DispatchConfig(),
                 clock: Callable[[], datetime] | None = None,
                 stopping: Callable[[], bool] = lambda: False) -> DispatchReport:
    """One batch: claim it, then chunk by chunk check, mark started, send, record (until asked to stop).

    Nothing is sent on a lease about to run out (another worker may take the check-in over then):
    the rest of the batch is handed back instead.
    """
    time_now = (lambda: now) if now is not None else (clock or utcnow)
    worker = worker or worker_name()
    report = DispatchReport()
    claimed_at = time_now()
    with db.session() as session:
        rows = _claim(session, now=claimed_at, worker=worker, config=config)
    report.claimed = len(rows)
    lease_end = claimed_at + timedelta(seconds=config.lease_seconds * 0.75)
    halt = lambda: stopping() or time_now() >= lease_end  # noqa: E731
    for start in range(0, len(rows), config.chunk_size):
        if halt():
            release_claims(db, worker=worker)
            break
        chunk = rows[start:start + config.chunk_size]
        try:
            _dispatch_chunk(db, channels, chunk, worker=worker, now=time_now, config=config, report=report,
                            stopping=halt)
        except Exception as exc:  # noqa: BLE001 - one bad chunk never stops the batch; its leases expire
            log.exception("dispatch of %d check-ins failed; they are reconciled when their leases expire", len(chunk))
            report.errors.extend(f"{row.id}: {type(exc).__name__}" for row in chunk)
    return report


def dispatch_backlog(db: Database, channels: Mapping[str, Channel], *, worker: str | None = None,
                     config: DispatchConfig = DispatchConfig(), clock: Callable[[], datetime] | None = None,
                     stopping: Callable[[], bool] = lambda: False) -> DispatchReport:
    """A tick: batch after batch while full batches come back, for at most `drain_seconds`."""
    total, deadline = DispatchReport(), time.monotonic() + config.drain_seconds
    while True:
        report = dispatch_due(db, channels, worker=worker, config=config, clock=clock, stopping=stopping)
        total.add(report)
        if report.claimed < config.batch_size or stopping() or time.monotonic() >= deadline:
            return total


def _dispatch_chunk(db: Database, channels: Mapping[str, Channel], rows: list, *, worker: str,
                    now: Callable[[], datetime], config: DispatchConfig, report: DispatchReport,
                    stopping: Callable[[], bool] = lambda: False) -> None:
    """Fresh sends go batched (one commit marks them started, one records them); in-doubt or
    rate-limited check-ins take the one-by-one path (reconciliation, shared send slots).
    Asked to stop (or out of lease), it finishes the send in flight and unmarks the ones it never handed over."""
    at = now()
    fast, slow = [], []
    with db.session() as session:
        cancels = _cancel_reasons(session, rows)
        _cancel_claimed(session, cancels, worker=worker, now=at)
        report.cancelled += len(cancels)
        for row in rows:
            if row.id in cancels:
                continue
            channel = channels[row.channel]
            limited = channel.sender and channel.max_per_second > 0
            (slow if row.send_started_at is not None or limited else fast).append(row)
        started = _mark_started(session, [row.id for row in fast], worker=worker, now=at)
        session.commit()
    for row in slow:
        if stopping():
            break
        try:
            dispatch_one(db, channels, row.id, worker=worker, now=now(), config=config, report=report)
        except Exception as exc:  # noqa: BLE001 - one bad item never stops the batch
            log.exception("dispatch of %s failed; it is retried when its lease expires", row.id)
            report.errors.append(f"{row.id}: {type(exc).__name__}")
    outcomes, unsent = [], []
    for row in fast:
        if row.id not in started:
            continue
        if stopping():
            unsent.append(row.id)
            continue
        try:
            outcomes.append((row.id, channels[row.channel].send(_message(row))))
        except (TransientSendError, PermanentSendError) as exc:
            outcomes.append((row.id, exc))
        except Exception as exc:  # noqa: BLE001 - left in doubt: reconciled when its lease expires
            log.exception("send of %s failed unexpectedly; it is reconciled when its lease expires", row.id)
            report.errors.append(f"{row.id}: {type(exc).__name__}")
    _record_many(db, outcomes, now=now(), config=config, report=report, unsent=unsent, worker=worker)


def _cancel_reasons(session: Session, rows: list) -> dict[str, str]:
    """`_cancel_reason` for a whole chunk in two queries."""
    if not rows:
        return {}
    opted = set(session.scalars(select(OptOut.address).where(_among(session, OptOut.address,
                                                                     {row.address for row in rows}))))
    reopened = set(session.scalars(select(Case.id).where(_among(session, Case.id, {row.case_id for row in rows}),
                                                         Case.state == "reopened")))
    reasons = {}
    for row in rows:
        if row.address in opted:
            reasons[row.id] = "opted out before sending"
        elif row.case_id in reopened:
            reasons[row.id] = "case reopened: a person has it"
    return reasons


def _cancel_claimed(session: Session, reasons: dict[str, str], *, worker: str, now: datetime) -> None:
    for checkin_id, reason in reasons.items():
        session.execute(update(CheckIn).where(CheckIn.id == checkin_id, CheckIn.state == "claimed",
                                              CheckIn.claimed_by == worker)
                        .values(state="cancelled", state_reason=reason, lease_until=None, updated_at=now)
                        .execution_options(synchronize_session=False))


def _mark_started(session: Session, ids: list[str], *, worker: str, now: datetime) -> set[str]:
    """The crash marker, committed before the provider is called; only rows still ours are marked."""
    if not ids:
        return set()
    return set(session.scalars(update(CheckIn).where(
        _among(session, CheckIn.id, ids), CheckIn.state == "claimed", CheckIn.claimed_by == worker,
        CheckIn.send_started_at.is_(None)).values(attempts=CheckIn.attempts + 1, send_started_at=now, updated_at=now)
        .returning(CheckIn.id).execution_options(synchronize_session=False)))


_checkins = CheckIn.__table__


def _sent_values(now, provider_message_id) -> dict:
    """`_mark_sent` as SQL: a status callback that got there first (delivered, say) keeps its state."""
    c = _checkins.c
    return dict(state=case((or_(c.state == literal_column("'claimed'"), c.state == literal_column("'scheduled'")),
                            literal_column("'sent'")), else_=c.state),
                sent_at=func.coalesce(c.sent_at, now), provider_message_id=provider_message_id, lease_until=None,
                send_started_at=None, updated_at=now)


# SQLite: one executemany; PostgreSQL: one UPDATE … FROM unnest(ids, provider ids).
_MARK_SENT = update(_checkins).where(_checkins.c.id == bindparam("b_id")).values(
    **_sent_values(bindparam("b_now", type_=UTCDateTime()), bindparam("b_pid")))


def _mark_sent_many(session: Session, accepted: list[tuple[str, str]], now: datetime) -> None:
    if not _is_pg(session):
        session.execute(_MARK_SENT, [{"b_id": checkin_id, "b_pid": pid, "b_now": now} for checkin_id, pid in accepted])
        return
    ids, pids = zip(*accepted)
    v = select(func.unnest(literal(list(ids), ARRAY(String))).label("id"),
               func.unnest(literal(list(pids), ARRAY(String))).label("pid")).subquery("v")
    session.execute(update(_checkins).where(_checkins.c.id == v.c.id)
                    .values(**_sent_values(literal(now, UTCDateTime()), v.c.pid)))


def _record_many(db: Database, outcomes: list, *, now: datetime, config: DispatchConfig,
                 report: DispatchReport, unsent: list[str] = (), worker: str = "") -> None:
    """Outcomes of a chunk in one transaction: accepted sends in one executemany, errors one by one;
    `unsent` (marked but never handed to the provider) lose the marker so release_claims hands them back."""
    if not outcomes and not unsent:
        return
    accepted = [(checkin_id, outcome.provider_message_id) for checkin_id, outcome in outcomes
                if isinstance(outcome, SendResult)]
    with db.session() as session:
        if accepted:
            _mark_sent_many(session, accepted, now)
            report.sent += len(accepted)
        for checkin_id, outcome in outcomes:
            if not isinstance(outcome, SendResult):
                _apply_outcome(session, session.get(CheckIn, checkin_id), outcome, now=now, config=config,
                               report=report)
        if unsent:
            session.execute(update(CheckIn).where(
                _among(session, CheckIn.id, unsent), CheckIn.claimed_by == worker).values(
                attempts=CheckIn.attempts - 1, send_started_at=None, updated_at=now)
                .execution_options(synchronize_session=False))
        session.commit()
