"""Break rules: a manager-edited JSON rule set, validated by marshmallow and evaluated as plain data (no code).

Within a rule every condition in `when` must hold. Rules are tried in the order the manager wrote them and the
first match wins: the order is the manager's priority, and the outcome stays predictable when rules overlap.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from marshmallow import RAISE, Schema, ValidationError, fields, post_dump, post_load, validate, validates_schema

from wellbeing.load import InteractionSignals

START_AFTER_CURRENT = "after_current"
START_NOW = "now"
DEFAULT_LOAD_THRESHOLD = 2.5
NEGATIVE_SENTIMENT_AT_MOST = -0.3
ROUGH_SIGNALS = frozenset({"abusive_language", "threatened_churn"})
CONDITIONS = ("signals_any", "load_at_least", "consecutive_negative_at_least", "sentiment_at_most",
              "category_in", "duration_over_norm_at_least")


@dataclass(frozen=True)
class When:
    """Conditions of one rule; None means "not part of this rule"."""

    signals_any: tuple[str, ...] | None = None
    load_at_least: float | None = None
    consecutive_negative_at_least: int | None = None
    sentiment_at_most: float | None = None
    category_in: tuple[str, ...] | None = None
    duration_over_norm_at_least: float | None = None


@dataclass(frozen=True)
class Then:
    break_minutes: int
    start: str = START_AFTER_CURRENT


@dataclass(frozen=True)
class Rule:
    name: str
    when: When
    then: Then


@dataclass(frozen=True)
class ServiceLevelGuard:
    target: float = 0.8
    answer_within_seconds: int = 20


@dataclass(frozen=True)
class Guards:
    """Limits the planner applies before granting a break; `service_level=None` turns that guard off."""

    max_breaks_per_shift: int = 4
    min_minutes_between_breaks: int = 45
    max_team_fraction_on_break: float = 0.2
    service_level: ServiceLevelGuard | None = field(default_factory=ServiceLevelGuard)
    max_deferral_minutes: int = 20
    escalate_to: str = "team_lead"


@dataclass(frozen=True)
class Scope:
    """Which team a rule set applies to; None is the default set for teams without their own."""

    team: str | None = None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    guards: Guards = field(default_factory=Guards)
    scope: Scope = field(default_factory=Scope)


class _JsonNumber(fields.Float):
    """A JSON number: refuses numeric strings ("2.5") that plain Float would accept."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (str, bytes)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


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

    @post_load
    def _make(self, data, **kwargs) -> ServiceLevelGuard:
        return ServiceLevelGuard(**data)


class GuardsSchema(_Strict):
    max_breaks_per_shift = _int(load_default=4, validate=validate.Range(min=1, max=1_000))
    min_minutes_between_breaks = _int(load_default=45, validate=validate.Range(min=0, max=1_440))
    max_team_fraction_on_break = _JsonNumber(load_default=0.2, validate=validate.Range(min=0, max=1))
    service_level = fields.Nested(ServiceLevelSchema, allow_none=True, load_default=ServiceLevelGuard)
    max_deferral_minutes = _int(load_default=20, validate=validate.Range(min=0, max=1_440))
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


def flatten_messages(messages: object, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors as {"rules.2.when.typo_condition": [...]}; schema-level errors sit on
    their parent's path ("rules.0.when"), a top-level one on "_schema"."""
    if not isinstance(messages, Mapping):
        items = messages if isinstance(messages, list) else [messages]
        return {prefix or "_schema": [str(item) for item in items]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        path = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
        for name, texts in flatten_messages(value, path).items():
            flat.setdefault(name, []).extend(texts)
    return flat


def load_rule_set(data: object) -> RuleSet:
    """Validate a rule set document; `ValidationError.messages` is keyed by dotted field path."""
    try:
        return RuleSetSchema().load(data)
    except ValidationError as error:
        raise ValidationError(flatten_messages(error.messages)) from error


def dump_rule_set(rule_set: RuleSet) -> dict:
    """Canonical JSON-ready dict: defaults written out, unset conditions and a default scope left out."""
    return RuleSetSchema().dump(rule_set)


DEFAULT_RULE_SET = load_rule_set({
    "rules": [
        {"name": "after abuse", "when": {"signals_any": ["abusive_language"]},
         "then": {"break_minutes": 5, "start": "after_current"}},
        {"name": "heavy load", "when": {"load_at_least": 2.5}, "then": {"break_minutes": 10, "start": "after_current"}},
        {"name": "three rough in a row", "when": {"consecutive_negative_at_least": 3}, "then": {"break_minutes": 7}},
    ],
    "guards": {"max_breaks_per_shift": 4, "min_minutes_between_breaks": 45, "max_team_fraction_on_break": 0.2,
               "service_level": {"target": 0.8, "answer_within_seconds": 20}, "max_deferral_minutes": 20,
               "escalate_to": "team_lead"},
})


def load_threshold(rule_set: RuleSet) -> float:
    """The lowest load at which the rule set asks for a break (2.5 when no rule looks at load)."""
    levels = [rule.when.load_at_least for rule in rule_set.rules if rule.when.load_at_least is not None]
    return min(levels, default=DEFAULT_LOAD_THRESHOLD)


def is_negative(signals: InteractionSignals) -> bool:
    """A rough interaction for "N in a row": clearly negative sentiment, abuse or churn threats, a bad reply."""
    negative_sentiment = signals.sentiment is not None and signals.sentiment <= NEGATIVE_SENTIMENT_AT_MOST
    return negative_sentiment or bool(ROUGH_SIGNALS & set(signals.signals)) or signals.negative_reply


@dataclass(frozen=True)
class AgentSituation:
    """What the rules look at after an interaction: the agent's load now, their streak and that interaction."""

    load: float
    consecutive_negative: int = 0
    signals: tuple[str, ...] = ()
    sentiment: float | None = None
    category: str | None = None
    duration_ratio: float | None = None

    @classmethod
    def after(cls, interaction: InteractionSignals, *, load: float, consecutive_negative: int) -> AgentSituation:
        return cls(load=load, consecutive_negative=consecutive_negative, signals=interaction.signals,
                   sentiment=interaction.sentiment, category=interaction.category,
                   duration_ratio=interaction.duration_ratio)


@dataclass(frozen=True)
class RuleMatch:
    """The rule that fired and why, in words a manager can read."""

    rule: Rule
    reasons: tuple[str, ...]

    @property
    def break_minutes(self) -> int:
        return self.rule.then.break_minutes

    @property
    def start(self) -> str:
        return self.rule.then.start

    def as_dict(self) -> dict:
        return {"rule": self.rule.name, "break_minutes": self.break_minutes, "start": self.start,
                "reasons": list(self.reasons)}


def _signals_any(expected, s: AgentSituation) -> str | None:
    hits = [name for name in expected if name in s.signals]
    return f"signals {', '.join(hits)}" if hits else None


def _load_at_least(expected, s: AgentSituation) -> str | None:
    return f"load {s.load:.2f} ≥ {expected:g}" if s.load >= expected else None


def _consecutive_negative_at_least(expected, s: AgentSituation) -> str | None:
    hit = s.consecutive_negative >= expected
    return f"{s.consecutive_negative} negative interactions in a row (≥ {expected})" if hit else None


def _sentiment_at_most(expected, s: AgentSituation) -> str | None:
    hit = s.sentiment is not None and s.sentiment <= expected
    return f"sentiment {s.sentiment:+.2f} ≤ {expected:+g}" if hit else None


def _category_in(expected, s: AgentSituation) -> str | None:
    return f"category {s.category}" if s.category in expected else None


def _duration_over_norm_at_least(expected, s: AgentSituation) -> str | None:
    hit = s.duration_ratio is not None and s.duration_ratio >= expected
    return f"duration {s.duration_ratio:.1f}× the category norm (≥ {expected:g}×)" if hit else None


_CHECKS = {
    "signals_any": _signals_any,
    "load_at_least": _load_at_least,
    "consecutive_negative_at_least": _consecutive_negative_at_least,
    "sentiment_at_most": _sentiment_at_most,
    "category_in": _category_in,
    "duration_over_norm_at_least": _duration_over_norm_at_least,
}


def _why(rule: Rule, situation: AgentSituation) -> str | None:
    """"rule 'x': a and b" when every condition of the rule holds, else None."""
    reasons = []
    for name, check in _CHECKS.items():
        expected = getattr(rule.when, name)
        if expected is None:
            continue
        reason = check(expected, situation)
        if reason is None:
            return None
        reasons.append(reason)
    return f"rule '{rule.name}': {' and '.join(reasons)}" if reasons else None


def evaluate(rule_set: RuleSet, situation: AgentSituation) -> RuleMatch | None:
    """The first rule, in the manager's order, whose conditions all hold."""
    for rule in rule_set.rules:
        reason = _why(rule, situation)
        if reason is not None:
            return RuleMatch(rule=rule, reasons=(reason,))
    return None
