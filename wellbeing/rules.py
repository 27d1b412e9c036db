"""Break rules as plain data (no code) and their evaluation; the JSON document a manager edits is validated
into these dataclasses by `wellbeing.rule_schema`.

Within a rule every condition in `when` must hold. Rules are tried in the order the manager wrote them and the
first match wins: the order is the manager's priority, and the outcome stays predictable when rules overlap.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from wellbeing.erlang import ERLANG_A, ERLANG_C, MODELS  # noqa: F401 (ERLANG_A: for rule_schema and simulation)
from wellbeing.load import InteractionSignals

START_AFTER_CURRENT = "after_current"
START_NOW = "now"
DEFAULT_LOAD_THRESHOLD = 2.5
NEGATIVE_SENTIMENT_AT_MOST = -0.3
ROUGH_SIGNALS = frozenset({"abusive_language", "threatened_churn"})
CONDITIONS = ("signals_any", "load_at_least", "consecutive_negative_at_least", "sentiment_at_most",
              "category_in", "duration_over_norm_at_least", "agent_reported")
SERVICE_LEVEL_MODELS = MODELS


@dataclass(frozen=True)
class When:
    """Conditions of one rule; None means "not part of this rule"."""

    signals_any: tuple[str, ...] | None = None
    load_at_least: float | None = None
    consecutive_negative_at_least: int | None = None
    sentiment_at_most: float | None = None
    category_in: tuple[str, ...] | None = None
    duration_over_norm_at_least: float | None = None
    agent_reported: bool | None = None


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
    """`model`: "erlang_c" (callers wait forever) or "erlang_a" (they hang up after `patience_seconds` on
    average: M/M/n+M), see `wellbeing.erlang`."""

    target: float = 0.8
    answer_within_seconds: int = 20
    model: str = ERLANG_C
    patience_seconds: float | None = None


@dataclass(frozen=True)
class Guards:
    """Limits the planner applies before granting a break; `service_level=None` turns that guard off."""

    max_breaks_per_shift: int = 6
    min_minutes_between_breaks: int = 20
    max_team_fraction_on_break: float = 0.2
    service_level: ServiceLevelGuard | None = field(default_factory=ServiceLevelGuard)
    max_deferral_minutes: int = 10
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


# The guards were 4 breaks a shift, 45 min apart, deferred up to 20 min, until the one-week simulation of
# bench/planner.py showed what that cost agents (docs/wellbeing.md, "Choosing the default"): p95 of 40 min a
# shift working over the threshold with no break; 6, 20 and 10 halve it for ~7 % more minutes off-queue.
DEFAULT_RULE_SET = RuleSet(
    rules=(Rule("after abuse", When(signals_any=("abusive_language",)), Then(5, START_AFTER_CURRENT)),
           Rule("heavy load", When(load_at_least=2.5), Then(10, START_AFTER_CURRENT)),
           Rule("three rough in a row", When(consecutive_negative_at_least=3), Then(7))),
    guards=Guards(max_breaks_per_shift=6, min_minutes_between_breaks=20, max_team_fraction_on_break=0.2,
                  service_level=ServiceLevelGuard(target=0.8, answer_within_seconds=20), max_deferral_minutes=10,
                  escalate_to="team_lead"))


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
    agent_reported: bool = False

    @classmethod
    def after(cls, interaction: InteractionSignals, *, load: float, consecutive_negative: int,
              agent_reported: bool = False) -> AgentSituation:
        """`agent_reported`: the agent just said that interaction rattled them."""
        return cls(load=load, consecutive_negative=consecutive_negative, signals=interaction.signals,
                   sentiment=interaction.sentiment, category=interaction.category,
                   duration_ratio=interaction.duration_ratio, agent_reported=agent_reported)


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


def _agent_reported(expected, s: AgentSituation) -> str | None:
    return "the agent said it rattled them" if expected and s.agent_reported else None


_CHECKS = {
    "signals_any": _signals_any,
    "load_at_least": _load_at_least,
    "consecutive_negative_at_least": _consecutive_negative_at_least,
    "sentiment_at_most": _sentiment_at_most,
    "category_in": _category_in,
    "duration_over_norm_at_least": _duration_over_norm_at_least,
    "agent_reported": _agent_reported,
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


def _needs(name: str, expected, s: AgentSituation) -> str:
    """What a condition that did not hold asks for, in a manager's words."""
    if name == "load_at_least":
        return f"{expected:.1f}"
    if name == "signals_any":
        return " or ".join(expected)
    if name == "consecutive_negative_at_least":
        return f"{expected} rough in a row (has {s.consecutive_negative})"
    if name == "sentiment_at_most":
        return f"sentiment ≤ {expected:+g}"
    if name == "category_in":
        return f"category {' or '.join(expected)}"
    if name == "duration_over_norm_at_least":
        return f"a call {expected:g}× the usual length"
    return "the agent to say a call rattled them"


def why_no_match(rule_set: RuleSet, situation: AgentSituation, *, most: int = 3) -> str:
    """Why no rule asks for a break, e.g. "no rule matched at 4.9 (heavy load needs 5.0)": for each rule (those
    looking at load first) the first condition that did not hold."""
    misses = []
    for rule in sorted(rule_set.rules, key=lambda r: r.when.load_at_least is None):
        for name, check in _CHECKS.items():
            expected = getattr(rule.when, name)
            if expected is not None and check(expected, situation) is None:
                misses.append(f"{rule.name} needs {_needs(name, expected, situation)}")
                break
    shown = "; ".join(misses[:most]) + ("; …" if len(misses) > most else "")
    return f"no rule matched at {situation.load:.1f}" + (f" ({shown})" if shown else " (the rule set has no rules)")
