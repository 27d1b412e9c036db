"""A desk delivery whose contact look-up failed: kept as a failed event, and translated again on retry.

No Flask here. The event is stored `failed` (status 502, the reason in `last_error` and the problem details), so
it shows in `GET /api/v1/crm/events?state=failed`, a repeat of the delivery gets that answer and changes nothing,
and `POST /api/v1/crm/events/<id>/retry` asks the desk again: once the look-up succeeds the event is queued like
any other. What is kept is the desk's own payload and delivery id — never its headers (no credentials).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aftercare.core.problems import Problem
from intake.connectors import DeskConnector, Ignored
from intake.models import WebhookEvent
from intake.service import order_keys

LOOKUP_FAILED = "contact-lookup-failed"


def lookup_problem(reason: str, event_id: str) -> Problem:
    return Problem(502, "Contact look-up failed",
                   f"{reason}. The event is kept as failed; POST /api/v1/crm/events/{event_id}/retry asks the desk "
                   "again.", kind=LOOKUP_FAILED)


def store_lookup_failure(session: Session, *, desk: str, event_id: str, delivery_id: str, payload: dict,
                         reason: str, now: datetime) -> tuple[WebhookEvent, bool]:
    """Record the failed delivery (or find the one a concurrent delivery recorded); True when this call stored it."""
    response = {"event_id": event_id, "status": "failed", "problem": lookup_problem(reason, event_id).as_dict()}
    row = WebhookEvent(event_id=event_id, type=f"{desk}:delivery", status_code=502, response=response,
                       received_at=now, processed_at=now, state="failed", attempts=0, last_error=reason[:2000],
                       payload={"desk": desk, "delivery_id": delivery_id, "body": payload})
    session.add(row)
    try:
        session.commit()
        return row, True
    except IntegrityError:
        session.rollback()
        return session.get(WebhookEvent, event_id), False


def desk_delivery(row: WebhookEvent) -> dict | None:
    """The stored desk delivery of a failed look-up, if this row is one."""
    payload = row.payload
    return payload if isinstance(payload, dict) and {"desk", "delivery_id", "body"} <= set(payload) else None


def translate_again(row: WebhookEvent, connectors: dict[str, DeskConnector], *, now: datetime,
                    validate) -> None:
    """Ask the desk again; on success the row holds our event, ready to be queued. LookupFailed propagates
    (the caller records it); a delivery that now maps to nothing is a 409."""
    stored = desk_delivery(row)
    event = connectors[stored["desk"]].translate(stored["body"], delivery_id=stored["delivery_id"], now=now)
    if isinstance(event, Ignored):
        raise Problem(409, "Conflict", f"This delivery is no longer acted on: {event.reason}", kind="conflict")
    keys = order_keys(validate(event))
    row.type, row.payload = event["type"], event  # stored as the door stores events: as sent, validated again later
    for key, value in keys.items():
        setattr(row, key, value)
