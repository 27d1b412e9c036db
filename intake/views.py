"""CRM event intake, `POST /webhooks/crm`: verify, validate, then act (inline) or store for the workers (queued).

Also the read side of what was received: `GET /api/v1/crm/events/<event_id>` and the failed/queued lists.
"""
from __future__ import annotations

import json
import logging

from flask import current_app, jsonify, request, url_for
from marshmallow import ValidationError
from sqlalchemy import func, select

from aftercare.core.unit_of_work import SessionUnitOfWork
from aftercare.core.bodies import Blueprint, read_json
from aftercare.core.problems import Problem, nul_fields, nul_problem, validation_problem
from aftercare.core.signing import SignatureError, verify
from aftercare.core.web import AUTHORIZE, db_session, end_db_read, problem_doc, problem_json, require_scope, runtime
from intake.connectors import LookupFailed
from intake.desk_intake import desk_delivery, lookup_problem, translate_again
from intake.door import store_queued
from intake.models import WebhookEvent
from intake.queue import VALIDATORS, requeue
from intake.schemas import (
    EVENT_TYPES,
    SCHEMAS,
    EnvelopeSchema,
    ReceivedEventListSchema,
    ReceivedEventQuerySchema,
    ReceivedEventSchema,
)
from intake.service import act_inline, order_keys, received, triage_at_the_door

log = logging.getLogger("aftercare.intake")
blp = Blueprint("crm", __name__, description="CRM / help-desk events (HMAC-signed webhooks) and what became of them")
ENVELOPE = EnvelopeSchema()
SECURITY = [{"bearerAuth": []}]


def _authenticated_body() -> bytes:
    """Signed with `Aftercare-Signature`, or (for desks that cannot sign, SPEC §10) sent with a `crm` API key:
    the shell's check, hashed and compared in constant time, 401 for a wrong key and 403 for one without `crm`."""
    settings = runtime().settings.crm
    body = request.get_data(cache=True)
    if "Aftercare-Signature" not in request.headers and request.headers.get("Authorization"):
        current_app.extensions[AUTHORIZE](("crm",), {})
        return body
    try:
        verify(request.headers.get("Aftercare-Signature"), body, [s for s in settings.webhook_secret.reveal().split(",") if s],
               tolerance=settings.replay_window_seconds, now=runtime().clock().timestamp())
    except SignatureError as exc:
        raise Problem(401, "Invalid signature", f"{exc} (or send Authorization: Bearer <a crm-scoped API key>)",
                      kind="invalid-signature") from exc
    return body


def parse_object(body: bytes) -> dict:
    """Strict, shallow JSON (`aftercare.core.bodies.parse_json`), and an object."""
    data = read_json(body)
    if not isinstance(data, dict):
        raise Problem(422, "Invalid request body", "The body must be a JSON object.", kind="validation",
                      errors=[{"field": "body", "message": "Must be a JSON object."}])
    return data


@blp.route("/webhooks/crm", methods=["POST"])
@blp.doc(summary="Receive a CRM event", security=[{"crmSignature": []}, {"bearerAuth": []}],
         description="Signed with `Aftercare-Signature: t=<unix>,v1=<hex hmac-sha256(secret, \"<t>.<raw body>\")>`; "
                     "several v1 values are allowed during secret rotation; timestamps older than 300 s are refused. "
                     "Or, for a desk that cannot sign, `Authorization: Bearer <API key with the crm scope>` "
                     "(docs/crm-recipes.md); replays are then covered by `event_id`. "
                     f"Event types: {', '.join(EVENT_TYPES)}. Idempotent on `event_id`: a repeat returns 200 with "
                     "the original result. With `crm.intake_mode = \"queued\"` the 202 says `\"status\": \"queued\"` "
                     "with the triage, and `links.self` (`GET /api/v1/crm/events/{event_id}`) gives the full "
                     "result once a worker has acted on it.",
         requestBody={"required": True, "content": {"application/json": {"schema": {
             "oneOf": list(SCHEMAS.values())}}}},
         responses={"202": {"description": "Accepted: acted on (inline) or stored for the workers (queued)",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    "200": {"description": "Duplicate event_id: the original result", "content": {
                        "application/json": {"schema": {"type": "object"}}}},
                    "400": problem_doc("Body is not JSON (NaN and Infinity are not JSON)"),
                    "401": problem_doc("Missing, forged or stale signature, or an unknown API key"),
                    "403": problem_doc("An API key without the crm scope"),
                    "409": problem_doc("Interaction already recorded under another event_id"),
                    "413": problem_doc("Body over server.max_body_bytes (1 MiB), chunked or not"),
                    "422": problem_doc("Invalid fields, NUL in text, or JSON nested too deep")})
def crm_webhook():
    data = parse_object(_authenticated_body())
    data.pop("origin", None)  # only a native connector says which desk a case lives in (crm.adapter decides here)
    return ingest(data)


def ingest(data: dict):
    """A verified event, in our format (SPEC §3): acted on now (inline) or stored for the workers (queued)."""
    if runtime().settings.crm.intake_mode == "queued":
        return _store_for_workers(data)
    event_id = data.get("event_id")
    uow = SessionUnitOfWork(db_session())
    if isinstance(event_id, str) and (seen := received(uow.session, event_id)) is not None:
        return replayed(seen)
    result, seen = act_inline(uow, accepted(data), now=runtime().clock(), ctx=runtime().followup)
    return replayed(seen) if seen is not None else (jsonify(result), 202)


def accepted(data: dict) -> dict:
    """Valid, and without NUL anywhere (keys included), in either intake mode and on either database.

    PostgreSQL cannot store NUL in text and SQLite can: refusing it here is what keeps the two alike (and
    a queued event from failing in a worker later). JSON can only carry it escaped, so the walk that names
    the fields runs only when the raw body has the escape.
    """
    event = validated(data)
    if b"\\u0000" in request.get_data(cache=True) and (bad := nul_fields(data)):
        raise nul_problem(bad)
    return event


def validated(data: dict) -> dict:
    """Each type's schema extends the envelope's; the envelope alone only speaks for an unknown or missing type."""
    validator = VALIDATORS.get(data.get("type")) if isinstance(data.get("type"), str) else None
    try:
        return (validator or ENVELOPE).load(data)
    except ValidationError as exc:
        raise validation_problem(exc.messages) from exc


def _store_for_workers(data: dict):
    """Queued mode: one INSERT (or nothing, for a repeat) and the 202; the workers act on it in arrival order."""
    event = accepted(data)
    end_db_read()  # end the read an API-key check began: the door writes on a connection of its own
    link = url_for("crm.received_event", event_id=event["event_id"])
    interaction = event.get("interaction") or {}
    response = {"event_id": event["event_id"], "status": "queued", "type": event["type"],
                "interaction": interaction.get("id"), "triage": triage_at_the_door(event, runtime().followup),
                "links": {"self": link}}
    if not store_queued(runtime().db, event_id=event["event_id"], type=event["type"], payload=data,
                        response=response, keys=order_keys(event), now=runtime().clock()):
        return replayed(db_session().get(WebhookEvent, event["event_id"]))
    return current_app.response_class(json.dumps(response, separators=(",", ":")), status=202,
                                      mimetype="application/json", headers={"Location": link})


def replayed(seen: WebhookEvent):
    """A repeat gets what the original got: the result (200), or the refusal (4xx) a worker recorded for it.

    An event that failed on our side (500 after its attempts) was still received: the repeat gets 200 with
    the failure, since a CRM that sees 5xx retries for ever (or disables the webhook) and a retry cannot help.
    """
    if seen.state == "failed" and seen.status_code < 500:
        response = problem_json({**seen.response["problem"], "event_id": seen.event_id})
    else:
        response = jsonify(seen.response)
        response.status_code = 200
    response.headers["Aftercare-Duplicate"] = "true"
    return response


@blp.route("/api/v1/crm/events/<event_id>")
@blp.doc(security=SECURITY, summary="One received CRM event: queued, processed (with its result) or failed")
@require_scope("crm", "manager", "read")
@blp.response(200, ReceivedEventSchema)
def received_event(event_id: str):
    return _received(event_id)


@blp.route("/api/v1/crm/events")
@blp.doc(security=SECURITY, summary="Received CRM events in one state: the queue (oldest first) or the failed "
                                    "ones (newest first)")
@require_scope("manager", "read")
@blp.arguments(ReceivedEventQuerySchema, location="query")
@blp.response(200, ReceivedEventListSchema)
def received_events(args):
    session = db_session()
    state = args["state"]
    order = (WebhookEvent.received_at, WebhookEvent.event_id) if state == "queued" else \
        (WebhookEvent.received_at.desc(), WebhookEvent.event_id.desc())
    items = session.scalars(select(WebhookEvent).where(WebhookEvent.state == state).order_by(*order)
                            .limit(args["limit"])).all()
    total = session.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.state == state))
    return {"items": items, "total": total}


@blp.route("/api/v1/crm/events/<event_id>/retry", methods=["POST"])
@blp.doc(security=SECURITY, summary="Queue a failed event again, with a full set of attempts",
         description="A help-desk delivery whose contact look-up failed is first translated again (the desk's API "
                     "is asked once more): 502 if it still fails, and the event stays failed with the new reason.",
         responses={"404": {"description": "No such event"}, "409": {"description": "Not a failed queued event"},
                    "502": problem_doc("The desk's API still cannot give the contact")})
@require_scope("manager")
@blp.response(202, ReceivedEventSchema)
def retry_event(event_id: str):
    session = db_session()
    seen = _received(event_id)
    if seen.state != "failed":
        raise Problem(409, "Conflict", f"CRM event {event_id!r} is {seen.state}; only a failed event can be queued "
                                       "again.", kind="conflict")
    if desk_delivery(seen) is not None:
        _translate_again(session, seen)
    if not requeue(session, event_id=event_id, now=runtime().clock()):
        raise Problem(409, "Conflict", f"CRM event {event_id!r} no longer has its payload (received inline, or "
                                       "purged by retention); the CRM must send it again.", kind="conflict")
    session.commit()
    return seen


def _without_nul(event: dict) -> dict:
    """`accepted` for an event not read from this request's body (a desk delivery translated again)."""
    if bad := nul_fields(event):
        raise nul_problem(bad)
    return validated(event)


def _translate_again(session, seen: WebhookEvent) -> None:
    """A desk delivery whose contact look-up failed: ask the desk again before queueing it (502 if it still fails)."""
    try:
        translate_again(seen, runtime().services["desks"], now=runtime().clock(), validate=_without_nul)
    except LookupFailed as exc:
        seen.last_error = str(exc)[:2000]
        session.commit()
        raise lookup_problem(str(exc), seen.event_id) from exc


def _received(event_id: str) -> WebhookEvent:
    seen = db_session().get(WebhookEvent, event_id)
    if seen is None:
        raise Problem(404, "Not Found", f"No CRM event {event_id!r} was received.", kind="not-found")
    return seen
