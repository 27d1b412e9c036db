"""Due check-ins as a leased queue: claimed in batches (expired leases first, then the earliest due), handed back
on a graceful stop, and checked for reasons to cancel before anything is sent."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from aftercare.core.leased_queue import Lease, LeasedQueue, among
from followup.dispatch.config import DispatchConfig
from followup.models import Case, ChannelContact, CheckIn, OptOut

# Two index range scans on (state, due_at) that stop at the batch size: one `OR` of both would make PostgreSQL
# sort every due row for each batch. A claimed check-in is in state "claimed"; handed back, "scheduled" again.
# Attempts are counted when a send starts, not at claim: a claim that sends nothing has used no attempt.
CHECKINS = LeasedQueue(
    CheckIn, order_by=(CheckIn.due_at,), on_claim={"state": "claimed"}, on_release={"state": "scheduled"},
    ready=lambda now: [and_(CheckIn.state == "claimed", CheckIn.lease_until < now),
                       and_(CheckIn.state == "scheduled", CheckIn.due_at <= now)])

# What sending needs, returned by the claim itself (no second read of the batch).
CLAIMED_COLUMNS = (CheckIn.id, CheckIn.channel, CheckIn.address, CheckIn.body, CheckIn.subject, CheckIn.reply_token,
                   CheckIn.case_id, CheckIn.send_started_at, CheckIn.locale, CheckIn.template_fields,
                   CheckIn.needs_template)


def claim_batch(session: Session, *, now: datetime, worker: str, config: DispatchConfig) -> Lease:
    """Lease a batch of due (or lease-expired) check-ins; `lease.rows` carry what sending needs, earliest due first."""
    return CHECKINS.claim(session, worker=worker, now=now, limit=config.batch_size, lease_seconds=config.lease_seconds,
                          returning=CLAIMED_COLUMNS)


def claim_due(session: Session, *, now: datetime, worker: str, config: DispatchConfig) -> list[str]:
    """The ids of a claimed batch (for probes and benchmarks that only need to know what was due)."""
    return claim_batch(session, now=now, worker=worker, config=config).ids


def release_claims(db, *, worker: str) -> int:
    """On a graceful stop: hand back this process's claimed check-ins that no send has started on."""
    with db.session() as session:
        released = CHECKINS.release_worker(session, worker, CheckIn.state == "claimed",
                                           CheckIn.send_started_at.is_(None))
        session.commit()
    return released


def cancel_reason(session: Session, checkin: CheckIn) -> str | None:
    """A reason to cancel instead of sending: opted out or case reopened since it was scheduled."""
    return cancel_reasons(session, [checkin]).get(checkin.id)


def cancel_reasons(session: Session, rows: list) -> dict[str, str]:
    """Check-in id → why it must not be sent, for a whole chunk in two queries."""
    if not rows:
        return {}
    opted = set(session.scalars(select(OptOut.address).where(among(session, OptOut.address,
                                                                    {row.address for row in rows}))))
    reopened = set(session.scalars(select(Case.id).where(among(session, Case.id, {row.case_id for row in rows}),
                                                         Case.state == "reopened")))
    reasons = {}
    for row in rows:
        if row.address in opted:
            reasons[row.id] = "opted out before sending"
        elif row.case_id in reopened:
            reasons[row.id] = "case reopened: a person has it"
    return reasons


def last_inbound(session: Session, rows: list) -> dict[str, datetime]:
    """Address → when it last wrote to us on a conversational channel (the provider's customer-service window)."""
    addresses = {row.address for row in rows}
    if not addresses:
        return {}
    return dict(session.execute(select(ChannelContact.address, ChannelContact.last_inbound_at)
                                .where(among(session, ChannelContact.address, addresses))).all())
