"""Why an agent over their threshold is not on a break, in words a manager understands (pure: no database).

`describe` turns the planner's last decision on the agent's open or refused break — or, with none, the rules
run on the agent's situation now — into a `break_status`: a `kind`, the `guard` that held it back, and a
sentence such as "deferred: predicted service level 0.74 < 0.80 until 14:20", "shift cap of 4 breaks reached"
or "no rule matched at 4.9 (heavy load needs 5.0)". Times are UTC, as everywhere on the dashboard.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from wellbeing.planner import CONCURRENCY, DEFERRED, ESCALATED, GRANTED, REFUSED, SERVICE_LEVEL, SHIFT_CAP, SPACING
from wellbeing.rules import START_NOW, AgentSituation, RuleSet, evaluate, why_no_match

NO_RULE_MATCHED = "no_rule_matched"
AWAITING_INTERACTION = "awaiting_interaction"
KINDS = (GRANTED, ESCALATED, DEFERRED, REFUSED, NO_RULE_MATCHED, AWAITING_INTERACTION)


@dataclass(frozen=True)
class LastDecision:
    """The planner's latest verdict on one break, as stored (`breaks.decision_dict` plus the break's state)."""

    outcome: str
    rule: str
    minutes: int
    start: str
    decided_at: datetime
    break_state: str
    guard: str | None = None
    detail: Mapping[str, object] | None = None
    retry_at: datetime | None = None
    escalate_to: str | None = None
    requested_at: datetime | None = None


def hhmm(moment: datetime | str | None) -> str:
    if moment is None:
        return "?"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%H:%M")


def describe(decision: LastDecision | None, *, rule_set: RuleSet, situation: AgentSituation,
             last_break_ended_at: datetime | None = None) -> dict:
    """The `break_status` of an agent over their threshold and not on a break."""
    if decision is None:
        match = evaluate(rule_set, situation)
        if match is None:
            return _status(NO_RULE_MATCHED, why_no_match(rule_set, situation))
        after = f"last break ended {hhmm(last_break_ended_at)}; " if last_break_ended_at else ""
        return _status(AWAITING_INTERACTION, f"{after}rule '{match.rule.name}' asks for a break after the next "
                                             "interaction (rules run when an interaction closes)",
                       rule=match.rule.name)
    base = {"rule": decision.rule, "decided_at": decision.decided_at.isoformat()}
    detail = dict(decision.detail or {})
    if decision.outcome == REFUSED:
        cap = detail.get("cap")
        text = f"shift cap of {cap} breaks reached" if decision.guard == SHIFT_CAP and cap is not None \
            else "refused: shift cap reached"
        return _status(REFUSED, text, guard=decision.guard, **base)
    if decision.outcome == DEFERRED:
        return _status(DEFERRED, _deferred(decision, detail), guard=decision.guard,
                       retry_at=decision.retry_at.isoformat() if decision.retry_at else None,
                       until=detail.get("deadline"), **base)
    when = "now" if decision.start == START_NOW else "after the current interaction"
    if decision.outcome == ESCALATED:
        waited = ""
        if decision.requested_at is not None:
            waited = f" after waiting {(decision.decided_at - decision.requested_at).total_seconds() / 60:.0f} min"
        return _status(ESCALATED, f"granted{waited} ({_guard_words(decision.guard)}), escalated to "
                                  f"{decision.escalate_to}: {decision.minutes} min break {when}",
                       guard=decision.guard, **base)
    return _status(GRANTED, f"granted at {hhmm(decision.decided_at)}: {decision.minutes} min break {when} "
                            f"('{decision.rule}')", **base)


def _deferred(decision: LastDecision, detail: dict) -> str:
    until = hhmm(detail.get("deadline") or decision.retry_at)
    if decision.guard == SERVICE_LEVEL:
        text = (f"deferred: predicted service level {detail.get('predicted', 0):.2f} < {detail.get('target', 0):.2f} "
                f"until {until}")
        if detail.get("abandonment") is not None:
            text += f" ({detail['abandonment']:.0%} of callers would hang up, Erlang A)"
        return text
    if decision.guard == CONCURRENCY:
        return (f"deferred: {detail.get('on_break')} of {detail.get('cap')} allowed already on a break (team share "
                f"{float(detail.get('fraction') or 0):.0%}) until {until}")
    if decision.guard == SPACING:
        ready = hhmm(decision.retry_at or detail.get("ready_at"))
        return (f"deferred: last break ended {float(detail.get('minutes_since_last') or 0):.0f} min ago, "
                f"{detail.get('required')} min between breaks, until {ready}")
    return f"deferred until {until}"


def _guard_words(guard: str | None) -> str:
    return {SERVICE_LEVEL: "service level", CONCURRENCY: "team share on break", SPACING: "spacing"}.get(
        guard or "", "guards")


def _status(kind: str, text: str, **extra) -> dict:
    return {"kind": kind, "text": text, **extra}
