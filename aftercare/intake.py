"""CRM event intake, `POST /webhooks/crm`: verify, validate, then hand to followup and wellbeing in one transaction."""
from __future__ import annotations

import json
import logging

from flask import jsonify, request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

import wellbeing.services as wellbeing
from aftercare.app import db_session, runtime
from aftercare.errors import Problem, problem_doc, validation_problem
from aftercare.intake_schemas import EVENT_TYPES, SCHEMAS, EnvelopeSchema
from aftercare.models import WebhookEvent
from aftercare.signing import SignatureError, verify
from followup import outcome_store
from followup import services as followup
from followup.models import Interaction

log = logging.getLogger("aftercare.intake")
blp = Blueprint("crm", __name__, description="CRM / help-desk events (HMAC-signed webhooks)")


def _verified_body() -> bytes:
    settings = runtime().settings.crm
    body = request.get_data(cache=True)
    try:
        verify(request.headers.get("Aftercare-Signature"), body, [s for s in settings.webhook_secret.reveal().split(",") if s],
               tolerance=settings.replay_window_seconds, now=runtime().clock().timestamp())
    except SignatureError as exc:
        raise Problem(401, "Invalid signature", str(exc), kind="invalid-signature") from exc
    return body


def _parse(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, "Malformed JSON", f"The body is not valid JSON: {exc}", kind="malformed-json") from exc
    if not isinstance(data, dict):
        raise Problem(422, "Invalid request body", "The body must be a JSON object.", kind="validation",
                      errors=[{"field": "body", "message": "Must be a JSON object."}])
    return data


@blp.route("/webhooks/crm", methods=["POST"])
@blp.doc(summary="Receive a CRM event", security=[{"crmSignature": []}],
         description="Signed with `Aftercare-Signature: t=<unix>,v1=<hex hmac-sha256(secret, \"<t>.<raw body>\")>`; "
                     "several v1 values are allowed during secret rotation; timestamps older than 300 s are refused. "
                     f"Event types: {', '.join(EVENT_TYPES)}. Idempotent on `event_id`: a repeat returns 200 with "
                     "the original result.",
         requestBody={"required": True, "content": {"application/json": {"schema": {
             "oneOf": list(SCHEMAS.values())}}}},
         responses={"202": {"description": "Accepted and acted on", "content": {"application/json": {
                        "schema": {"type": "object"}}}},
                    "200": {"description": "Duplicate event_id: the original result", "content": {
                        "application/json": {"schema": {"type": "object"}}}},
                    "400": problem_doc("Body is not JSON"),
                    "401": problem_doc("Missing, forged or stale signature"),
                    "409": problem_doc("Interaction already recorded under another event_id"),
                    "413": problem_doc("Body over 1 MB"), "422": problem_doc("Invalid fields")})
def crm_webhook():
    data = _parse(_verified_body())
    session = db_session()
    event_id = data.get("event_id")
    if isinstance(event_id, str) and (seen := session.get(WebhookEvent, event_id)) is not None:
        return _replayed(seen)
    try:
        envelope = EnvelopeSchema().load(data)
        event = SCHEMAS[envelope["type"]]().load(data)
    except ValidationError as exc:
        raise validation_problem(exc.messages) from exc
    result = _handle(session, event)
    session.add(WebhookEvent(event_id=event["event_id"], type=event["type"], status_code=202, response=result,
                             received_at=runtime().clock()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        seen = session.get(WebhookEvent, event["event_id"])
        if seen is None:
            raise Problem(409, "Conflict", "This interaction was already recorded under another event_id.",
                          kind="conflict")
        return _replayed(seen)
    return jsonify(result), 202


def _replayed(seen: WebhookEvent):
    response = jsonify(seen.response)
    response.headers["Aftercare-Duplicate"] = "true"
    return response, 200


def _interaction_closed(session, event: dict, now, ctx) -> dict:
    interaction = event["interaction"]
    if session.get(Interaction, interaction["id"]) is not None:
        raise Problem(409, "Conflict", f"Interaction {interaction['id']!r} was already recorded under another "
                                       "event_id.", kind="conflict")
    result = followup.record_interaction_closed(session, ctx=ctx, event_id=event["event_id"],
                                                interaction=interaction, agent=event.get("agent"),
                                                customer=event["customer"], now=now)
    result["agent_load"] = _agent_load(session, event, now)
    return result


def _case_updated(session, event: dict, now, ctx) -> dict:
    case = event["case"]
    status = {"pending": "open", "solved": "closed"}.get(case.get("status"), case.get("status"))
    return followup.record_case_updated(session, ctx=ctx, case_id=case["id"], status=status, now=now)


def _customer_contacted(session, event: dict, now, ctx) -> dict:
    case_ref = event.get("case") or {}
    outcome_store.record_contact(session, event_id=event["event_id"], customer_id=event["customer"]["id"],
                                 case_id=case_ref.get("id"), journey_stage=event.get("journey_stage"),
                                 category=event.get("category"), occurred_at=event["occurred_at"], now=now)
    return followup.record_customer_contacted(session, customer_id=event["customer"]["id"],
                                              case_id=case_ref.get("id"), now=now)


def _customer_churned(session, event: dict, now, ctx) -> dict:
    return outcome_store.record_churn(session, event_id=event["event_id"], customer_id=event["customer"]["id"],
                                      occurred_at=event["occurred_at"], reason=event.get("reason"), now=now)


def _agent_status(session, event: dict, now, ctx) -> dict:
    agent = event["agent"]
    return {"agent": wellbeing.report_state(session, agent_id=agent["id"], state=event["status"], now=now,
                                            reported_at=event["occurred_at"], name=agent.get("name"),
                                            team=agent.get("team"))}


HANDLERS = {"interaction.closed": _interaction_closed, "case.updated": _case_updated,
            "customer.contacted": _customer_contacted, "customer.churned": _customer_churned,
            "agent.status": _agent_status}


def _handle(session, event: dict) -> dict:
    """One handler per event type (its schema is in intake_schemas.SCHEMAS)."""
    now, ctx = runtime().clock(), followup.FollowupContext(runtime().settings)
    return HANDLERS[event["type"]](session, event, now, ctx)


def _agent_load(session, event: dict, now) -> dict | None:
    agent, interaction = event.get("agent"), event["interaction"]
    if not agent:
        return None
    started, ended = interaction.get("started_at"), interaction.get("ended_at")
    result = wellbeing.record_interaction(session, agent_id=agent["id"], agent_name=agent.get("name"),
                                          team=agent.get("team"), interaction=wellbeing.InteractionLoadInput(
        interaction_id=interaction["id"], at=ended or now, sentiment=interaction.get("customer_sentiment"),
        signals=tuple(interaction.get("signals") or ()), escalated_from_bot=interaction.get("escalated_from_bot", False),
        resolution=interaction.get("resolution", "unknown"),
        duration_seconds=(ended - started).total_seconds() if started and ended else None,
        category=interaction.get("category")))
    result["break"] = wellbeing.plan_break(session, agent_id=agent["id"], interaction_id=interaction["id"], now=now)
    return result
