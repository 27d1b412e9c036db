"""marshmallow schemas for followup's HTTP edge."""
from marshmallow import EXCLUDE, Schema, fields, validate

from followup.models import CHECKIN_STATES


class CheckinQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(validate=validate.OneOf(CHECKIN_STATES))
    case_id = fields.String(validate=validate.Length(1, 128))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class SimulateReplySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    text = fields.String(required=True, validate=validate.Length(1, 5000))


class RepliesQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    unmatched = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class CheckinSchema(Schema):
    id = fields.String()
    case_id = fields.String()
    interaction_id = fields.String(allow_none=True, metadata={"description": "None for a fix notice"})
    customer_id = fields.String()
    kind = fields.String(metadata={"description": "checkin, or fix_notice (a known problem was resolved)"})
    problem_id = fields.String(allow_none=True)
    channel = fields.String()
    provider = fields.String()
    address = fields.String()
    state = fields.String()
    state_reason = fields.String(allow_none=True)
    due_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    read_at = fields.DateTime(allow_none=True, metadata={"description": "WhatsApp: the customer opened it"})
    replied_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer()
    subject = fields.String(allow_none=True)
    body = fields.String()
    important = fields.Boolean()


class CheckinListSchema(Schema):
    items = fields.List(fields.Nested(CheckinSchema))


class ReplySchema(Schema):
    id = fields.String()
    checkin_id = fields.String(allow_none=True)
    case_id = fields.String(allow_none=True)
    channel = fields.String()
    from_address = fields.String(allow_none=True)
    text = fields.String()
    intent = fields.String()
    confidence = fields.Float()
    reasons = fields.List(fields.String())
    action = fields.String(allow_none=True)
    reason_category = fields.String(allow_none=True, metadata={"description": "Why a reopening reply came back "
                                                                              "(docs/close-the-loop.md)"})
    received_at = fields.DateTime()


class ReplyListSchema(Schema):
    items = fields.List(fields.Nested(ReplySchema))


class InteractionViewSchema(Schema):
    id = fields.String()
    channel = fields.String()
    agent_id = fields.String(allow_none=True)
    agent_name = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    journey_stage = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    ended_at = fields.DateTime()
    resolution = fields.String()
    customer_sentiment = fields.Float(allow_none=True)
    signals = fields.List(fields.String())
    triage_decision = fields.String()
    triage_reasons = fields.List(fields.String())
    triage_scores = fields.Dict(keys=fields.String(), values=fields.Float())
    schedule_reasons = fields.List(fields.String())
    contact_notes = fields.List(fields.String(), allow_none=True, metadata={
        "description": "How a help-desk connector reached the customer: look-ups, a time zone that fell back to "
                       "connectors.default_timezone, contact details it could not use"})
    held_out = fields.Boolean()


class CaseSchema(Schema):
    id = fields.String()
    state = fields.String()
    customer_id = fields.String()
    agent_id = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    journey_stage = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    desk = fields.String(allow_none=True, metadata={"description": "The help desk the case came from through its "
                                                                   "native connector (it is reopened there)"})
    desk_ref = fields.String(allow_none=True, metadata={"description": "The case's ticket/conversation id there"})
    reopen_reason = fields.String(allow_none=True)
    reopen_category = fields.String(allow_none=True)
    root_cause = fields.String(allow_none=True)
    reopened_at = fields.DateTime(allow_none=True)
    loop_closed_at = fields.DateTime(allow_none=True)
    interactions = fields.List(fields.Nested(InteractionViewSchema))
    checkins = fields.List(fields.Nested(CheckinSchema))
    replies = fields.List(fields.Nested(ReplySchema))
    queue_items = fields.List(fields.Dict())


class ReplyOutcomeSchema(Schema):
    reply_id = fields.String()
    checkin_id = fields.String(allow_none=True)
    case_id = fields.String(allow_none=True)
    verdict = fields.Dict()
    action = fields.String()
