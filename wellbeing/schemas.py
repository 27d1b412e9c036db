"""marshmallow schemas for wellbeing's HTTP edge (requests are validated here; responses documented)."""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from aftercare.core.fields import Instant, Stored
from wellbeing.models import AGENT_STATES, QUEUE_STATES, Agent, BreakRuleSetVersion
from wellbeing.rule_schema import RuleSetSchema


def Team(**kwargs) -> fields.String:
    return Stored(Agent.team, BreakRuleSetVersion.team, BreakRuleSetVersion.scope, min=1, **kwargs)


class _Query(Schema):
    class Meta:
        unknown = EXCLUDE


class _Body(Schema):
    class Meta:
        unknown = RAISE


class QueueQuerySchema(_Query):
    state = fields.String(load_default="queued", validate=validate.OneOf(QUEUE_STATES))
    team = Team()
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))


class QueueItemSchema(Schema):
    id = fields.String()
    kind = fields.String()
    state = fields.String()
    priority = fields.Integer()
    case_id = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    preferred_agent_id = fields.String(allow_none=True)
    assigned_agent_id = fields.String(allow_none=True)
    title = fields.String()
    routing_reason = fields.String(allow_none=True)
    details = fields.Dict()
    external_id = fields.String(allow_none=True, metadata={"description": "The routing platform's task id."})
    created_at = fields.String()
    available_at = fields.String()


class QueueListSchema(Schema):
    items = fields.List(fields.Dict())


class TeamQuerySchema(_Query):
    team = Team(load_default=None, metadata={"description": "Omit for the default rule set."})


class BreakStatusSchema(Schema):
    kind = fields.String(metadata={"description": "granted | escalated | deferred | refused | no_rule_matched | "
                                                  "awaiting_interaction"})
    text = fields.String(metadata={"description": "In plain words, e.g. \"deferred: predicted service level 0.74 "
                                                  "< 0.80 until 14:20\" or \"shift cap of 4 breaks reached\"."})
    guard = fields.String(allow_none=True, metadata={"description": "shift_cap | spacing | concurrency | "
                                                                    "service_level"})
    rule = fields.String(allow_none=True)
    decided_at = fields.String(allow_none=True)
    retry_at = fields.String(allow_none=True)
    until = fields.String(allow_none=True, metadata={"description": "A deferral: granted anyway (and escalated) "
                                                                    "at the latest then."})


class AgentLoadRowSchema(Schema):
    agent_id = fields.String()
    name = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    state = fields.String()
    load = fields.Float(metadata={"description": "Decayed to now, 3 decimals."})
    threshold = fields.Float()
    over_threshold = fields.Boolean()
    on_break_until = fields.String(allow_none=True)
    break_status = fields.Nested(BreakStatusSchema, allow_none=True, metadata={
        "description": "Over threshold and not on a break: the planner's last decision and its reason; else null."})


class LoadPointSchema(Schema):
    at = fields.String()
    load = fields.Float()


class AgentLoadSchema(AgentLoadRowSchema):
    class Meta:
        exclude = ("on_break_until", "break_status")

    parts = fields.Dict(keys=fields.String(), values=fields.Float(),
                        metadata={"description": "Total contribution of each part over the last 24 h."})
    series = fields.List(fields.Nested(LoadPointSchema), metadata={"description": "Every 15 min over 24 h."})


class RattledBodySchema(_Body):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000),
                         metadata={"description": "What happened, in the agent's words (optional, shown to managers)."})


class RattledSchema(Schema):
    id = fields.String()
    agent_id = fields.String()
    name = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    at = fields.String()
    note = fields.String(allow_none=True)
    interaction_id = fields.String(allow_none=True, metadata={"description": "The agent's latest interaction."})
    added = fields.Float(metadata={"description": "Load added (wellbeing.weights.agent_reported)."})
    load_after = fields.Float()
    break_id = fields.String(allow_none=True)
    seen_at = fields.String(allow_none=True)
    seen_by = fields.String(allow_none=True)


class RattledResultSchema(RattledSchema):
    duplicate = fields.Boolean(metadata={"description": "True (status 200): this interaction was already reported; "
                                                        "nothing was added and this is the first report."})
    load = fields.Float()
    threshold = fields.Float()
    break_ = fields.Dict(allow_none=True, attribute="break", data_key="break",
                         metadata={"description": "The planner's decision when a rule matched (see DecisionSchema)."})


class TeamLoadSchema(Schema):
    team = fields.String()
    at = fields.String()
    agents = fields.List(fields.Nested(AgentLoadRowSchema))
    rattled = fields.List(fields.Nested(RattledSchema), metadata={
        "description": "Agents' \"that one rattled me\" reports no manager has marked seen yet, newest first."})


class RuleSetVersionSchema(Schema):
    version = fields.Integer(allow_none=True, metadata={"description": "None: the built-in default rules."})
    team = fields.String(allow_none=True)
    rules = fields.Dict(metadata={"description": "The rule set document (SPEC 5.2)."})
    author = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)


class RuleHistorySchema(Schema):
    team = fields.String(allow_none=True)
    versions = fields.List(fields.Nested(RuleSetVersionSchema))


class PublishRulesSchema(_Body):
    rule_set = fields.Nested(RuleSetSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class RollbackSchema(_Body):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    team = Team(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class SimulateSchema(_Body):
    rules = fields.Nested(RuleSetSchema, required=True)
    start = Instant(required=True, data_key="from")
    end = Instant(required=True, data_key="to")
    team = Team(load_default=None, allow_none=True)


class SimulationSchema(Schema):
    proposed = fields.Dict(metadata={"description": "planner.SimulationResult for the proposed rules."})
    active = fields.Dict(metadata={"description": "The same replay with the active rules."})
    window = fields.Dict()


class AgentStateSchema(_Body):
    state = fields.String(required=True, validate=validate.OneOf(AGENT_STATES))
    name = fields.String(validate=validate.Length(max=200))
    team = Team()


class BreakSchema(Schema):
    id = fields.String()
    agent_id = fields.String()
    team = fields.String(allow_none=True)
    rule = fields.String()
    minutes = fields.Integer()
    start = fields.String(metadata={"description": "after_current | now"})
    state = fields.String(metadata={"description": "deferred | due | on_break | ended | refused | cancelled"})
    outcome = fields.String(metadata={"description": "The latest decision: granted | deferred | escalated | refused"})
    requested_at = fields.String()
    retry_at = fields.String(allow_none=True)
    granted_at = fields.String(allow_none=True)
    ready_at = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    ends_at = fields.String(allow_none=True)
    ended_at = fields.String(allow_none=True)
    end_reason = fields.String(allow_none=True)
    queue_item_id = fields.String(allow_none=True)


class DecisionSchema(Schema):
    id = fields.String()
    break_id = fields.String()
    agent_id = fields.String()
    team = fields.String(allow_none=True)
    rule = fields.String()
    outcome = fields.String()
    minutes = fields.Integer()
    start = fields.String()
    starts_at = fields.String(allow_none=True)
    retry_at = fields.String(allow_none=True)
    reasons = fields.List(fields.String())
    escalate_to = fields.String(allow_none=True)
    rule_set_version = fields.Integer(allow_none=True)
    decided_at = fields.String()
    guard = fields.String(allow_none=True, metadata={
        "description": "The guard that refused, deferred or escalated the break: shift_cap | spacing | concurrency "
                       "| service_level (null when granted at once)."})


class AgentStateResultSchema(Schema):
    agent_id = fields.String()
    name = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    state = fields.String()
    state_changed_at = fields.String(allow_none=True)
    ignored = fields.String(metadata={"description": "Set when the report was older than the state on record."})
    break_ = fields.Nested(BreakSchema, allow_none=True, attribute="break", data_key="break")


class NextSchema(Schema):
    kind = fields.String(metadata={"description": "break (a break to take now or running) | work | none"})
    break_ = fields.Nested(BreakSchema, allow_none=True, attribute="break", data_key="break")
    item = fields.Nested(QueueItemSchema, allow_none=True)


class AgentBreaksSchema(Schema):
    breaks = fields.List(fields.Nested(BreakSchema))
    decisions = fields.List(fields.Nested(DecisionSchema))


class LimitQuerySchema(_Query):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
