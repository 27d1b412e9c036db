"""The dispatcher: claim due check-ins (the leased queue), send each, record the outcome.

The checkins table is the source of truth; APScheduler only calls `dispatch_backlog` every tick, which claims
batch after batch while full ones come back. A batch is handled in chunks: cancellations checked for the chunk
in two queries, the chunk marked "send started" in one statement and one commit, sent, and its outcomes
recorded in one statement and one commit. In-doubt and rate-limited check-ins go one by one (reconciliation,
shared send slots). A worker never sends on a lease that is about to run out; what it did not send goes back.
One bad check-in is logged and left for its lease to expire, never stops the batch.

Crash safety: `send_started_at` is committed before the provider is called and cleared when the outcome is
recorded. A claimed check-in whose lease expired with `send_started_at` set is *in doubt*: the provider may have
accepted it. It is reconciled first (a status callback/event already recorded the provider id, or the channel
finds the message), waits `reconcile_grace_seconds` for callbacks, and only then is sent again.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Callable, Mapping

from aftercare.core.clock import Clock, utcnow
from aftercare.core.db import Database
from aftercare.core.leased_queue import Lease, finished, worker_name
from aftercare.core.outage import database_unreachable
from followup.channels import Channel, OutboundMessage, PermanentSendError, SendResult, TransientSendError
from followup.dispatch.claim import CHECKINS, cancel_reason, cancel_reasons, claim_batch, last_inbound
from followup.dispatch.config import DispatchConfig, DispatchReport
from followup.dispatch.send_slots import reserve_send_slot
from followup.dispatch.writes import apply_outcome, cancel_claimed, mark_sent, mark_started, record_many, release
from followup.models import CheckIn

log = logging.getLogger("aftercare.dispatch")


def _message(checkin, inbound: Mapping[str, datetime], now: datetime) -> OutboundMessage:
    """What the channel needs to send a check-in, including how long ago the customer last wrote from its address."""
    last = inbound.get(checkin.address)
    return OutboundMessage(checkin_id=checkin.id, channel=checkin.channel, to=checkin.address, body=checkin.body,
                           subject=checkin.subject, reply_token=checkin.reply_token, locale=checkin.locale,
                           template_fields=checkin.template_fields, needs_template=bool(checkin.needs_template),
                           inbound_age=now - last if last is not None else None)


def dispatch_one(db: Database, channels: Mapping[str, Channel], lease: Lease, checkin_id: str, *, now: datetime,
                 config: DispatchConfig, report: DispatchReport) -> None:
    """One check-in the slow way: reconcile it if it is in doubt, wait for its sender's rate limit, send it."""
    with db.session() as session:
        checkin = CHECKINS.held(session, lease, checkin_id, lock=False)
        if checkin is None or checkin.state != "claimed":
            return
        if cancel := cancel_reason(session, checkin):
            checkin.state, checkin.state_reason = "cancelled", cancel
            finished(checkin)
            session.commit()
            report.cancelled += 1
            return
        message, channel = _message(checkin, last_inbound(session, [checkin]), now), channels[checkin.channel]
        if checkin.send_started_at is not None and _reconciled(session, checkin, channel, message, now=now,
                                                               config=config, report=report):
            session.commit()
            return
        session.commit()
    if channel.sender and channel.max_per_second > 0:
        start = reserve_send_slot(db, channel.sender, channel.max_per_second, now)
        wait = (start - now).total_seconds()
        if wait > config.max_rate_wait_seconds:
            _defer(db, lease, checkin_id, due_at=start, reason=f"rate limit for {channel.sender}")
            report.deferred += 1
            return
        if wait > 0:
            time.sleep(wait)
    with db.session() as session:
        checkin = CHECKINS.held(session, lease, checkin_id)
        if checkin is None:
            report.lost += 1
            return
        checkin.attempts += 1
        checkin.send_started_at = now
        session.commit()
    try:
        outcome: SendResult | TransientSendError | PermanentSendError = channel.send(message)
    except (TransientSendError, PermanentSendError) as exc:
        outcome = exc
    with db.session() as session:
        checkin = CHECKINS.held(session, lease, checkin_id)
        if checkin is None:
            report.lost += 1
            return
        apply_outcome(session, checkin, outcome, now=now, config=config, report=report)
        session.commit()


def _reconciled(session, checkin: CheckIn, channel: Channel, message: OutboundMessage, *, now: datetime,
                config: DispatchConfig, report: DispatchReport) -> bool:
    """An in-doubt check-in: found sent (by a callback, or at the provider), or left to wait; False = send it."""
    if checkin.provider_message_id:
        mark_sent(checkin, SendResult(checkin.provider_message_id), now)
        report.reconciled += 1
        return True
    try:
        found = channel.find_sent(message)
    except TransientSendError as exc:
        release(checkin, due_at=now + timedelta(seconds=config.reconcile_grace_seconds),
                reason=f"in doubt after a crash and the provider could not be asked: {exc.reason}")
        report.deferred += 1
        return True
    if found is not None:
        mark_sent(checkin, found, now)
        report.reconciled += 1
        return True
    wait_until = checkin.send_started_at + timedelta(seconds=config.reconcile_grace_seconds)
    if now < wait_until:
        release(checkin, due_at=wait_until, reason="in doubt after a crash: waiting for provider callbacks")
        report.deferred += 1
        return True
    return False


def _defer(db: Database, lease: Lease, checkin_id: str, *, due_at: datetime, reason: str) -> None:
    with db.session() as session:
        if (checkin := CHECKINS.held(session, lease, checkin_id)) is not None:
            release(checkin, due_at=due_at, reason=reason)
            session.commit()


def _hand_back(db: Database, lease: Lease) -> None:
    """What this claim holds and never started sending goes back to scheduled."""
    with db.session() as session:
        CHECKINS.release(session, lease, where=(CheckIn.state == "claimed", CheckIn.send_started_at.is_(None)))
        session.commit()


def dispatch_due(db: Database, channels: Mapping[str, Channel], *, now: datetime | None = None,
                 worker: str | None = None, config: DispatchConfig = DispatchConfig(), clock: Clock | None = None,
                 stopping: Callable[[], bool] = lambda: False) -> DispatchReport:
    """One batch: claim it, then chunk by chunk check, mark started, send, record (until asked to stop).

    Nothing is sent on a lease about to run out (another worker may take the check-in over then): the rest of
    the batch is handed back instead.
    """
    time_now = (lambda: now) if now is not None else (clock or utcnow)
    report = DispatchReport()
    with db.session() as session:
        lease = claim_batch(session, now=time_now(), worker=worker or worker_name(), config=config)
    report.claimed = len(lease.rows)
    halt = lambda: stopping() or lease.running_out(time_now())  # noqa: E731
    for start in range(0, len(lease.rows), config.chunk_size):
        if halt():
            _hand_back(db, lease)
            break
        chunk = lease.rows[start:start + config.chunk_size]
        try:
            _dispatch_chunk(db, channels, lease, chunk, now=time_now, config=config, report=report, stopping=halt)
        except Exception as exc:  # noqa: BLE001 - one bad chunk never stops the batch; its leases expire
            if database_unreachable(exc):
                raise  # not a bad item: the database is away, and the tick waits it out
            log.exception("dispatch of %d check-ins failed; they are reconciled when their leases expire", len(chunk))
            report.errors.extend(f"{row.id}: {type(exc).__name__}" for row in chunk)
    return report


def dispatch_backlog(db: Database, channels: Mapping[str, Channel], *, worker: str | None = None,
                     config: DispatchConfig = DispatchConfig(), clock: Clock | None = None,
                     stopping: Callable[[], bool] = lambda: False) -> DispatchReport:
    """A tick: batch after batch while full batches come back, for at most `drain_seconds`."""
    total, deadline = DispatchReport(), time.monotonic() + config.drain_seconds
    while True:
        report = dispatch_due(db, channels, worker=worker, config=config, clock=clock, stopping=stopping)
        total.add(report)
        if report.claimed < config.batch_size or stopping() or time.monotonic() >= deadline:
            return total


def _dispatch_chunk(db: Database, channels: Mapping[str, Channel], lease: Lease, rows: list, *,
                    now: Callable[[], datetime], config: DispatchConfig, report: DispatchReport,
                    stopping: Callable[[], bool] = lambda: False) -> None:
    """Fresh sends go batched (one commit marks them started, one records them); in-doubt or rate-limited
    check-ins take the one-by-one path (reconciliation, shared send slots). Asked to stop (or out of lease), it
    finishes the send in flight and unmarks the ones it never handed over."""
    at = now()
    fast, slow = [], []
    with db.session() as session:
        cancels = cancel_reasons(session, rows)
        inbound = last_inbound(session, rows)
        cancel_claimed(session, lease, cancels, now=at)
        report.cancelled += len(cancels)
        for row in rows:
            if row.id in cancels:
                continue
            channel = channels[row.channel]
            limited = channel.sender and channel.max_per_second > 0
            (slow if row.send_started_at is not None or limited else fast).append(row)
        started = mark_started(session, lease, [row.id for row in fast], now=at)
        session.commit()
    for row in slow:
        if stopping():
            break
        try:
            dispatch_one(db, channels, lease, row.id, now=now(), config=config, report=report)
        except Exception as exc:  # noqa: BLE001 - one bad item never stops the batch
            if database_unreachable(exc):
                raise  # not a bad item: the database is away, and the tick waits it out
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
            outcomes.append((row.id, channels[row.channel].send(_message(row, inbound, at))))
        except (TransientSendError, PermanentSendError) as exc:
            outcomes.append((row.id, exc))
        except Exception as exc:  # noqa: BLE001 - left in doubt: reconciled when its lease expires
            log.exception("send of %s failed unexpectedly; it is reconciled when its lease expires", row.id)
            report.errors.append(f"{row.id}: {type(exc).__name__}")
    record_many(db, lease, outcomes, now=now(), config=config, report=report, unsent=unsent)
    if unsent:
        _hand_back(db, lease)
