"""The rule set document a manager edits (SPEC §5.2), validated by marshmallow into `wellbeing.rules` dataclasses.

Kept apart from the rules themselves so that evaluating them (the planner, the simulation) needs no marshmallow.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, post_dump, post_load, validate, validates_schema

from aftercare.core.problems import errors_by_field
from wellbeing.rules import (
    CONDITIONS,
    ERLANG_A,
    ERLANG_C,
    SERVICE_LEVEL_MODELS,
    START_AFTER_CURRENT,
    START_NOW,
    Guards,
    Rule,
    RuleSet,
    Scope,
    ServiceLevelGuard,
    Then,
    When,
)


class _JsonNumber(fields.Float):
    """A JSON number: refuses numeric strings ("2.5") that plain Float would accept."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (str, bytes)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class _JsonBool(fields.Boolean):
    """A JSON true/false: refuses "true", 1 and the other truthy values plain Boolean would accept."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _int(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, **kwargs)


def _names(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.Length(min=1, max=100)), validate=validate.Length(min=1),
                       **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class WhenSchema(_Strict):
    signals_any = _names()
    load_at_least = _JsonNumber(validate=validate.Range(min=0))
    consecutive_negative_at_least = _int(validate=validate.Range(min=1, max=10_000))
    sentiment_at_most = _JsonNumber(validate=validate.Range(min=-1, max=1))
    category_in = _names()
    duration_over_norm_at_least = _JsonNumber(validate=validate.Range(min=0))
    agent_reported = _JsonBool(
        validate=validate.Equal(True, error="Only true: the rule applies when the agent says an "
                                                          "interaction rattled them."),
        metadata={"description": "The agent said the interaction rattled them (POST /api/v1/agents/<id>/rattled).",
                  "title": "Agent says it rattled them"})

    @validates_schema
    def _at_least_one(self, data, **kwargs):
        if not data:
            raise ValidationError(f"At least one condition is required: {', '.join(CONDITIONS)}.")

    @post_load
    def _make(self, data, **kwargs) -> When:
        return When(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()})

    @post_dump
    def _drop_unset(self, data, **kwargs) -> dict:
        return {key: value for key, value in data.items() if value is not None}


class ThenSchema(_Strict):
    break_minutes = _int(required=True, validate=validate.Range(min=1, max=120))
    start = fields.String(load_default=START_AFTER_CURRENT, validate=validate.OneOf([START_AFTER_CURRENT, START_NOW]))

    @post_load
    def _make(self, data, **kwargs) -> Then:
        return Then(**data)


class RuleSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    when = fields.Nested(WhenSchema, required=True)
    then = fields.Nested(ThenSchema, required=True)

    @post_load
    def _make(self, data, **kwargs) -> Rule:
        return Rule(**data)


class ServiceLevelSchema(_Strict):
    target = _JsonNumber(load_default=0.8, validate=validate.Range(min=0, max=1))
    answer_within_seconds = _int(load_default=20, validate=validate.Range(min=0, max=86_400))
    model = fields.String(
        load_default=ERLANG_C, validate=validate.OneOf(SERVICE_LEVEL_MODELS),
        metadata={"description": "Queueing model of the prediction: erlang_c (callers wait forever) or erlang_a "
                                 "(callers hang up after patience_seconds on average; also predicts abandonment).",
                  "title": "Queueing model"})
    patience_seconds = _JsonNumber(
        load_default=None, validate=validate.Range(min=1, max=86_400),
        metadata={"description": "Erlang A only: how long callers wait on average before hanging up.",
                  "units": "seconds", "title": "Caller patience"})

    @validates_schema
    def _patience_for_erlang_a(self, data, **kwargs):
        if data.get("model") == ERLANG_A and data.get("patience_seconds") is None:
            raise ValidationError("Required with model erlang_a.", "patience_seconds")

    @post_load
    def _make(self, data, **kwargs) -> ServiceLevelGuard:
        return ServiceLevelGuard(**data)

    @post_dump
    def _drop_defaults(self, data, **kwargs) -> dict:
        """Erlang C without a patience is the default: left out, so documents written before Erlang A stay
        byte for byte the same."""
        if data.get("model") == ERLANG_C:
            data.pop("model")
        if data.get("patience_seconds") is None:
            data.pop("patience_seconds", None)
        return data


class GuardsSchema(_Strict):
    max_breaks_per_shift = _int(load_default=6, validate=validate.Range(min=1, max=1_000))
    min_minutes_between_breaks = _int(load_default=20, validate=validate.Range(min=0, max=1_440))
    max_team_fraction_on_break = _JsonNumber(load_default=0.2, validate=validate.Range(min=0, max=1))
    service_level = fields.Nested(ServiceLevelSchema, allow_none=True, load_default=ServiceLevelGuard)
    max_deferral_minutes = _int(load_default=10, validate=validate.Range(min=0, max=1_440))
    escalate_to = fields.String(load_default="team_lead", validate=validate.Length(min=1, max=100))

    @post_load
    def _make(self, data, **kwargs) -> Guards:
        return Guards(**data)


class ScopeSchema(_Strict):
    team = fields.String(load_default=None, validate=validate.Length(min=1, max=128))

    @post_load
    def _make(self, data, **kwargs) -> Scope:
        return Scope(**data)


class RuleSetSchema(_Strict):
    """The rule set document of SPEC 5.2; loads to a frozen `RuleSet`, dumps to its canonical JSON."""

    rules = fields.List(fields.Nested(RuleSchema), required=True)
    guards = fields.Nested(GuardsSchema, load_default=Guards)
    scope = fields.Nested(ScopeSchema, load_default=Scope)

    @validates_schema
    def _unique_names(self, data, **kwargs):
        seen: set[str] = set()
        duplicates = {}
        for index, rule in enumerate(data.get("rules", ())):
            if rule.name in seen:
                duplicates[index] = {"name": [f"Duplicate rule name: {rule.name!r}."]}
            seen.add(rule.name)
        if duplicates:
            raise ValidationError({"rules": duplicates})

    @post_load
    def _make(self, data, **kwargs) -> RuleSet:
        return RuleSet(rules=tuple(data["rules"]), guards=data["guards"], scope=data["scope"])

    @post_dump
    def _drop_default_scope(self, data, **kwargs) -> dict:
        if data.get("scope", {}).get("team") is None:
            data.pop("scope", None)
        return data


def load_rule_set(data: object) -> RuleSet:
    """Validate a rule set document; `ValidationError.messages` is keyed by dotted field path."""
    try:
        return RuleSetSchema().load(data)
    except ValidationError as error:
        raise ValidationError(errors_by_field(error.messages)) from error


def dump_rule_set(rule_set: RuleSet) -> dict:
    """Canonical JSON-ready dict: defaults written out, unset conditions and a default scope left out."""
    return RuleSetSchema().dump(rule_set)


