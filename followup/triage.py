"""Triage: the CX automation matrix applied to one closed interaction (pure; no Flask, no database)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

NONE = "none"
AUTOMATED_CHECKIN = "automated_checkin"
HUMAN_CALLBACK = "human_callback"
DIMENSIONS = ("emotional_load", "context_ambiguity", "moral_tradeoff", "consequences", "explainability")


@dataclass(frozen=True)
class InteractionFacts:
    """What the CRM told us about the interaction, as triage needs it."""

    sentiment: float | None = None
    signals: tuple[str, ...] = ()
    repeat_contact_count: int = 0
    escalated_from_bot: bool = False
    resolution: str = "unknown"
    refund_or_credit_decision: bool = False
    irreversible_action: bool = False
    category: str | None = None


@dataclass(frozen=True)
class TriagePolicy:
    """Thresholds and category weights (config `[triage]`)."""

    low_threshold: float = 0.3
    high_threshold: float = 0.7
    moral_threshold: float = 0.7
    category_weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TriageDecision:
    decision: str
    scores: Mapping[str, float]
    reasons: tuple[str, ...]
    important: bool

    def as_dict(self) -> dict:
        return {"decision": self.decision, "reasons": list(self.reasons),
                "scores": {k: round(v, 2) for k, v in self.scores.items()}, "important": self.important}


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def _emotional_load(f: InteractionFacts, category_weight: float) -> tuple[float, list[str]]:
    parts: list[str] = []
    score = 0.0
    if f.sentiment is not None and f.sentiment < 0:
        score += -f.sentiment
        parts.append(f"sentiment {f.sentiment:+.1f}".replace("-", "−"))
    for signal, weight, label in (("abusive_language", 0.4, "abusive language"),
                                  ("threatened_churn", 0.3, "threatened to leave"),
                                  ("vulnerable_customer", 0.3, "vulnerable customer")):
        if signal in f.signals:
            score += weight
            parts.append(label)
    if f.repeat_contact_count >= 2:
        score += min(0.45, 0.15 * f.repeat_contact_count)
        parts.append(f"{f.repeat_contact_count} repeat contacts")
    if f.escalated_from_bot:
        score += 0.1
        parts.append("escalated from bot")
    if category_weight:
        score += 0.5 * category_weight
    return _clamp(score), parts


def _context_ambiguity(f: InteractionFacts, category_weight: float) -> tuple[float, list[str]]:
    by_resolution = {"resolved": 0.0, "workaround": 0.5, "unresolved": 0.7, "unknown": 0.6}
    score = by_resolution.get(f.resolution, 0.6) + 0.3 * category_weight
    parts = [] if f.resolution == "resolved" else [f"resolution {f.resolution}"]
    if f.repeat_contact_count >= 1:
        score += 0.1
    return _clamp(score), parts


def _moral_tradeoff(f: InteractionFacts) -> tuple[float, list[str]]:
    score, parts = 0.0, []
    if f.refund_or_credit_decision:
        score += 0.5
        parts.append("refund or credit decided")
    if "vulnerable_customer" in f.signals:
        score += 0.5
        parts.append("vulnerable customer")
    return _clamp(score), parts


def _consequences(f: InteractionFacts) -> tuple[float, list[str]]:
    if f.irreversible_action:
        return 1.0, ["irreversible action taken"]
    if f.refund_or_credit_decision:
        return 0.4, ["money moved"]
    return 0.0, []


def _explainability(f: InteractionFacts) -> tuple[float, list[str]]:
    score = {"resolved": 0.0, "workaround": 0.5, "unresolved": 0.5, "unknown": 0.6}.get(f.resolution, 0.6)
    parts = []
    if f.escalated_from_bot:
        score += 0.2
        parts.append("bot could not explain")
    return _clamp(score), parts


def triage(facts: InteractionFacts, policy: TriagePolicy = TriagePolicy()) -> TriageDecision:
    """Score the five matrix dimensions and decide none / automated check-in / human callback, with reasons."""
    weight = _clamp(float(policy.category_weights.get(facts.category or "", 0.0)))
    scored = {
        "emotional_load": _emotional_load(facts, weight),
        "context_ambiguity": _context_ambiguity(facts, weight),
        "moral_tradeoff": _moral_tradeoff(facts),
        "consequences": _consequences(facts),
        "explainability": _explainability(facts),
    }
    scores = {name: value for name, (value, _) in scored.items()}
    reasons = [_describe(name, value, parts, policy) for name, (value, parts) in scored.items()
               if value >= policy.low_threshold]
    high = policy.high_threshold
    decision, why = _decide(facts, scores, policy)
    important = decision == HUMAN_CALLBACK or max(scores.values()) >= high
    return TriageDecision(decision=decision, scores=scores, reasons=tuple([why, *reasons]), important=important)


def _decide(f: InteractionFacts, s: Mapping[str, float], p: TriagePolicy) -> tuple[str, str]:
    if "vulnerable_customer" in f.signals:
        return HUMAN_CALLBACK, "human callback: vulnerable customer"
    if s["emotional_load"] >= p.high_threshold and s["consequences"] >= p.high_threshold:
        return HUMAN_CALLBACK, "human callback: high emotional load with irreversible consequences"
    if s["moral_tradeoff"] >= p.moral_threshold:
        return HUMAN_CALLBACK, "human callback: moral trade-off"
    if f.resolution == "resolved" and max(s.values()) < p.low_threshold:
        return NONE, "no follow-up: routine, reversible and resolved"
    return AUTOMATED_CHECKIN, "automated check-in: a person is ready if the reply needs one"


def _describe(name: str, value: float, parts: list[str], policy: TriagePolicy) -> str:
    level = "high" if value >= policy.high_threshold else "medium"
    label = name.replace("_", " ")
    detail = f": {', '.join(parts)}" if parts else ""
    return f"{label} {level} ({value:.2f}){detail}"
