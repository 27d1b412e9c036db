"""Provider delivery reports (Twilio status callbacks, SendGrid events) applied to check-ins."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.core.leased_queue import finished
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
    """accepted/sent/delivered/read move forward; undelivered/failed fail it (a person for important cases).

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
    if status in ("delivered", "read"):
        if checkin.state not in FINAL:
            checkin.state = "delivered"
            checkin.sent_at = checkin.sent_at or now
            checkin.lease_until = checkin.send_started_at = None
        checkin.delivered_at = checkin.delivered_at or now
        if status == "read":
            checkin.read_at = checkin.read_at or now
        return checkin.state
    if status in ("undelivered", "failed", "bounce", "dropped") and checkin.state not in ("replied", "failed"):
        checkin.state, checkin.state_reason = "failed", reason or status
        checkin.lease_until = checkin.send_started_at = None
        if checkin.important:
            human_task_for_failed(session, checkin=checkin, now=now)
    return checkin.state


def superseded(checkin: CheckIn, provider_message_id: str | None) -> bool:
    """A report on the free text a check-in replaced with its template: it says nothing about the check-in now."""
    return checkin.needs_template and bool(provider_message_id) and provider_message_id != checkin.provider_message_id


def resend_as_template(session: Session, *, checkin: CheckIn, now: datetime, reason: str) -> str:
    """The provider refused the free text as outside the customer-service window (WhatsApp 63016, reported after it
    accepted the message): the check-in goes again as the approved template, once; a second refusal fails it."""
    if checkin.needs_template or checkin.state in ("replied", "cancelled", "expired"):
        return record_status(session, checkin=checkin, status="failed", now=now, reason=reason)
    checkin.needs_template = True
    checkin.state, checkin.due_at, checkin.updated_at = "scheduled", now, now
    checkin.state_reason = f"{reason}: sending the approved template instead (once)"
    checkin.provider_message_id = checkin.sent_at = checkin.delivered_at = checkin.send_started_at = None
    finished(checkin)
    return checkin.state


def opt_out_checkin_address(session: Session, *, checkin: CheckIn, source: str, now: datetime) -> None:
    opt_out(session, address=checkin.address, channel=checkin.channel, source=source, now=now)
