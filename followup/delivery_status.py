"""Provider delivery reports (Twilio status callbacks, SendGrid events) applied to check-ins."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.checkins import opt_out
from followup.dispatch import human_task_for_failed
from followup.models import CheckIn

FINAL = ("replied", "failed", "cancelled", "expired")


def find_checkin(session: Session, *, checkin_id: str | None, provider_message_id: str | None) -> CheckIn | None:
    """By our id (carried in the callback URL / custom_args) first, else by the provider's message id."""
    if checkin_id and isinstance(checkin_id, str):
        found = session.get(CheckIn, checkin_id)
        if found is not None:
            return found
    if provider_message_id:
        return session.scalars(select(CheckIn).where(CheckIn.provider_message_id == provider_message_id)).first()
    return None


def record_status(session: Session, *, checkin: CheckIn, status: str, now: datetime,
                  provider_message_id: str | None = None, reason: str | None = None) -> str:
    """accepted/sent/delivered move forward; undelivered/failed fail it (a person for important cases).

    A report for a check-in still `claimed` is how a send that crashed before being recorded is reconciled:
    it records the provider id, so the dispatcher never sends it again.
    """
    if provider_message_id and not checkin.provider_message_id:
        checkin.provider_message_id = provider_message_id
    checkin.updated_at = now
    if status in ("accepted", "queued", "sending", "sent", "processed"):
        if checkin.state in ("claimed", "scheduled") and checkin.provider_message_id:
            checkin.state, checkin.sent_at = "sent", checkin.sent_at or now
            checkin.lease_until = checkin.send_started_at = None
        return checkin.state
    if status == "delivered":
        if checkin.state not in FINAL:
            checkin.state = "delivered"
            checkin.sent_at = checkin.sent_at or now
            checkin.lease_until = checkin.send_started_at = None
        checkin.delivered_at = checkin.delivered_at or now
        return checkin.state
    if status in ("undelivered", "failed", "bounce", "dropped") and checkin.state not in ("replied", "failed"):
        checkin.state, checkin.state_reason = "failed", reason or status
        checkin.lease_until = checkin.send_started_at = None
        if checkin.important:
            human_task_for_failed(session, checkin=checkin, now=now)
    return checkin.state


def opt_out_checkin_address(session: Session, *, checkin: CheckIn, source: str, now: datetime) -> None:
    opt_out(session, address=checkin.address, channel=checkin.channel, source=source, now=now)
