"""marshmallow schemas for CRM events (SPEC §3): unknown fields ignored, types and required fields checked.

Every string an event stores is as long as the narrowest column it lands in at most (`Stored`), and every
date-time lies in the years the service can compute with (`Instant`).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

import wellbeing.services as wellbeing
from aftercare.core.fields import Instant, Stored, fits
from followup import services as followup
from intake.connectors import DESKS
from intake.models import WebhookEvent


def stored(path: str) -> int:
    """How long the event field at `path` may be, by whichever domains store it."""
    return min(lengths[path] for lengths in (followup.STORED_LENGTHS, wellbeing.STORED_LENGTHS) if path in lengths)


class PhoneNumber(fields.String):
    """Normalised to E.164. Refused when the length or country code is impossible; numbers phonenumbers
    cannot place in a known range (new allocations, Ofcom's 07700 900xxx test range) are accepted, because
    refusing a real number means a customer who is never followed up."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            parsed = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException as exc:
            raise ValidationError("Not a phone number; send E.164 such as +447700900123.") from exc
        if not phonenumbers.is_possible_number(parsed):
            raise ValidationError("Not a valid phone number.")
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class TimeZoneName(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(f"Unknown IANA time zone {raw!r}.") from exc
        return raw


def _known_type(value: str) -> bool:
    if value not in SCHEMAS:
        raise ValidationError(f"Must be one of: {', '.join(SCHEMAS)}.")
    return True


class Base(Schema):
    class Meta:
        unknown = EXCLUDE


class CommitmentSchema(Base):
    text = fields.String(required=True, validate=validate.Length(1, 500))
    due_at = Instant(required=True)


class InteractionSchema(Base):
    id = Stored(stored("interaction.id"), min=1, required=True)
    case_id = Stored(stored("interaction.case_id"), WebhookEvent.case_key, min=1, required=True)
    channel = fields.String(required=True,
                            validate=validate.OneOf(("voice", "chat", "email", "sms", "whatsapp", "bot")))
    journey_stage = Stored(stored("interaction.journey_stage"), allow_none=True)
    category = Stored(stored("interaction.category"), allow_none=True)
    started_at = Instant(allow_none=True)
    ended_at = Instant(allow_none=True)
    escalated_from_bot = fields.Boolean(load_default=False)
    resolution = fields.String(load_default="unknown",
                               validate=validate.OneOf(("resolved", "unresolved", "workaround", "unknown")))
    customer_sentiment = fields.Float(allow_none=True, validate=validate.Range(-1, 1))
    signals = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=list)
    repeat_contact_count = fields.Integer(load_default=0, validate=validate.Range(0, 10_000))
    refund_or_credit_decision = fields.Boolean(load_default=False)
    irreversible_action = fields.Boolean(load_default=False)
    commitment = fields.Nested(CommitmentSchema, allow_none=True)
    root_cause = Stored(stored("root_cause"), allow_none=True,
                        metadata={"description": "Why it happened, as the closing agent saw it: a code from "
                                                 "insights.root_causes or free text"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("started_at") and data.get("ended_at") and data["ended_at"] < data["started_at"]:
            raise ValidationError("ended_at is before started_at.", "ended_at")


class AgentSchema(Base):
    id = Stored(stored("agent.id"), WebhookEvent.agent_key, min=1, required=True)
    name = Stored(stored("agent.name"), allow_none=True)
    team = Stored(stored("agent.team"), allow_none=True)


class ConsentSchema(Base):
    sms = fields.Boolean(load_default=False)
    email = fields.Boolean(load_default=False)
    whatsapp = fields.Boolean(load_default=False)


class CustomerSchema(Base):
    id = Stored(stored("customer.id"), WebhookEvent.customer_key, min=1, required=True)
    name = Stored(stored("customer.name"), allow_none=True)
    phone = PhoneNumber(allow_none=True, validate=fits(stored("customer.phone")))
    email = Stored(stored("customer.email"), field=fields.Email, allow_none=True)
    timezone = TimeZoneName(required=True, validate=fits(stored("customer.timezone")))
    locale = Stored(stored("customer.locale"), allow_none=True)
    consent = fields.Nested(ConsentSchema, load_default=dict)


class CustomerRefSchema(Base):
    id = Stored(stored("customer.id"), WebhookEvent.customer_key, min=1, required=True)


class CaseRefSchema(Base):
    id = Stored(stored("case.id"), WebhookEvent.case_key, min=1, required=True)
    status = fields.String(validate=validate.OneOf(("open", "closed", "pending", "solved")), allow_none=True)
    root_cause = Stored(stored("root_cause"), allow_none=True,
                        metadata={"description": "Why it happened, given when the agent closes the case: a code "
                                                 "from insights.root_causes or free text"})


class EnvelopeSchema(Base):
    event_id = Stored(WebhookEvent.event_id, stored("event_id"), min=1, required=True)
    type = fields.String(required=True, validate=lambda value: _known_type(value))
    occurred_at = Instant(required=True)


class OriginSchema(Base):
    """Set by a native connector (`/webhooks/<desk>`), never by our own format: the desk the case lives in (it is
    reopened there), its id there, and notes on how the customer's contact details were found."""

    desk = fields.String(required=True, validate=validate.OneOf(DESKS))
    ref = Stored(stored("interaction.case_id"), min=1, required=True)
    notes = fields.List(fields.String(validate=validate.Length(max=500)), load_default=list,
                        validate=validate.Length(max=20))


class InteractionClosedSchema(EnvelopeSchema):
    interaction = fields.Nested(InteractionSchema, required=True)
    agent = fields.Nested(AgentSchema, allow_none=True)
    customer = fields.Nested(CustomerSchema, required=True)
    origin = fields.Nested(OriginSchema, allow_none=True)


class CaseUpdatedSchema(EnvelopeSchema):
    case = fields.Nested(CaseRefSchema, required=True)
    agent = fields.Nested(AgentSchema, allow_none=True)


class ProblemBodySchema(followup.ProblemFieldsSchema):
    """`title`, `category`, `journey_stage`?, `from`, `to`?, `case_ids`? as for `POST /api/v1/problems`, and the
    CRM's own id for it (what `problem.resolved` names)."""

    class Meta:
        unknown = EXCLUDE

    # The id names the problem in URLs (/api/v1/problems/<id>, the dashboard's problem page): with a "/" in it the
    # problem could be opened but never looked at or resolved there.
    id = fields.String(required=True, validate=[fits(stored("problem.id"), min=1), validate.Regexp(
        r"[^/]+\Z", error="Must not contain '/': the id names the problem in URLs (/api/v1/problems/<id>).")])


class ProblemOpenedSchema(EnvelopeSchema):
    """The CRM declares a known problem (SPEC §12): its cases in category and window are linked."""

    problem = fields.Nested(ProblemBodySchema, required=True)


class ProblemRefSchema(Base):
    id = Stored(stored("problem.id"), min=1, required=True)
    message = fields.String(allow_none=True, validate=validate.Length(max=300))


class ProblemResolvedSchema(EnvelopeSchema):
    """The CRM says a known problem's cause is fixed: every affected customer is told."""

    problem = fields.Nested(ProblemRefSchema, required=True)


class CustomerContactedSchema(EnvelopeSchema):
    customer = fields.Nested(CustomerRefSchema, required=True)
    case = fields.Nested(CaseRefSchema, allow_none=True)
    journey_stage = Stored(stored("contact.journey_stage"), allow_none=True)
    category = Stored(stored("contact.category"), allow_none=True)


class CustomerChurnedSchema(EnvelopeSchema):
    """The customer left (cancelled, closed the account): read by the churn outcome metric."""

    customer = fields.Nested(CustomerRefSchema, required=True)
    reason = fields.String(validate=validate.Length(max=500), allow_none=True)


class AgentStatusEventSchema(EnvelopeSchema):
    """An agent's routing state changed: it may let a granted break start (wellbeing)."""

    agent = fields.Nested(AgentSchema, required=True)
    status = fields.String(required=True,
                           validate=validate.OneOf(("available", "busy", "wrap_up", "on_break", "offline")))


SCHEMAS: dict[str, type[Schema]] = {
    "interaction.closed": InteractionClosedSchema,
    "case.updated": CaseUpdatedSchema,
    "customer.contacted": CustomerContactedSchema,
    "customer.churned": CustomerChurnedSchema,
    "agent.status": AgentStatusEventSchema,
    "problem.opened": ProblemOpenedSchema,
    "problem.resolved": ProblemResolvedSchema,
}
EVENT_TYPES = tuple(SCHEMAS)


class ReceivedEventQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(load_default="failed", validate=validate.OneOf(("queued", "failed", "processed")))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class ReceivedEventSchema(Schema):
    """A received CRM event; `response` is what the webhook answered or, once acted on, the full result."""

    event_id = fields.String()
    type = fields.String()
    state = fields.String(metadata={"description": "queued, processed or failed"})
    status_code = fields.Integer(metadata={"description": "202 while queued or once processed; the problem's "
                                                          "status when failed"})
    received_at = fields.DateTime()
    processed_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    response = fields.Dict()


class ReceivedEventListSchema(Schema):
    items = fields.List(fields.Nested(ReceivedEventSchema))
    total = fields.Integer(metadata={"description": "How many events are in this state"})
