"""The break planner: decides whether a break the rules asked for starts now, waits, or is escalated.

Guards, in order: per-shift cap (refused), spacing since the last break, team concurrency cap and the
service-level guard (deferred). A deferred break becomes "escalated" — granted anyway, with the team lead
told — once it has waited `max_deferral_minutes`: an agent's recovery is never silently dropped. Spacing is
deferred like the other guards rather than refused, so a rough call right after a break still gets one.
`decide` reads counts from a `TeamSnapshot`, never lists of agents: its cost does not grow with the team.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from wellbeing.erlang import predict
from wellbeing.rules import START_AFTER_CURRENT, Guards, RuleMatch

GRANTED = "granted"
DEFERRED = "deferred"
ESCALATED = "escalated"
REFUSED = "refused"
# Which guard held a break back or refused it (`BreakDecision.guard`), so a page can say why in its own words.
SHIFT_CAP, SPACING, CONCURRENCY, SERVICE_LEVEL = "shift_cap", "spacing", "concurrency", "service_level"
RETRY_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class BreakRequest:
    """A break the rules asked for on behalf of an agent."""

    agent_id: str
    team: str | None
    rule_name: str
    minutes: int
    start: str
    requested_at: datetime
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_match(cls, match: RuleMatch, *, agent_id: str, team: str | None, at: datetime) -> BreakRequest:
        return cls(agent_id=agent_id, team=team, rule_name=match.rule.name, minutes=match.break_minutes,
                   start=match.start, requested_at=at, reasons=match.reasons)


@dataclass(frozen=True)
class TeamSnapshot:
    """Counts the guards need, read at decision time.

    `available`: signed-in agents (not offline), those on a break included. `on_break`: agents on a break or
    holding a granted break that has not ended. `agent_last_break_ended_at`: spacing runs from the end of
    the agent's previous break to the start of the next.
    """

    team_size: int
    available: int
    on_break: int
    agent_breaks_this_shift: int = 0
    agent_last_break_ended_at: datetime | None = None
    arrival_rate_per_s: float = 0.0
    aht_s: float = 0.0


@dataclass(frozen=True)
class BreakDecision:
    """The planner's verdict; every outcome carries its reasons, a deferral also when to ask again.

    `starts_at` is when a granted or escalated break becomes due; with start "after_current" the routing
    queue hands it over once the agent's current interaction ends. `guard` names the guard that refused,
    deferred or (after waiting) escalated the break, and `detail` its figures (e.g. the predicted service level).
    """

    outcome: str
    starts_at: datetime | None
    reasons: tuple[str, ...]
    retry_at: datetime | None = None
    escalate_to: str | None = None
    guard: str | None = None
    detail: Mapping[str, object] | None = None

    @property
    def takes_break(self) -> bool:
        return self.outcome in (GRANTED, ESCALATED)

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "starts_at": iso(self.starts_at), "reasons": list(self.reasons),
                "retry_at": iso(self.retry_at), "escalate_to": self.escalate_to}


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def concurrency_cap(guards: Guards, team_size: int) -> int:
    """floor(fraction × team size), at least 1: a small team must not block every break forever."""
    return max(1, math.floor(guards.max_team_fraction_on_break * team_size + 1e-9))


def decide(request: BreakRequest, snapshot: TeamSnapshot, guards: Guards, now: datetime) -> BreakDecision:
    """Grant, defer, escalate or refuse one break request (O(1): counts only)."""
    if snapshot.agent_breaks_this_shift >= guards.max_breaks_per_shift:
        cap = f"per-shift cap: {snapshot.agent_breaks_this_shift} of {guards.max_breaks_per_shift} breaks taken"
        return BreakDecision(REFUSED, None, request.reasons + (cap,), guard=SHIFT_CAP,
                             detail={"taken": snapshot.agent_breaks_this_shift, "cap": guards.max_breaks_per_shift})
    blocked = _blocking_guard(snapshot, guards, now)
    if blocked is None:
        return BreakDecision(GRANTED, now, request.reasons + (_granted(request),))
    deadline = request.requested_at + timedelta(minutes=guards.max_deferral_minutes)
    detail = {**blocked.detail, "deadline": iso(deadline)}
    if now >= deadline:
        waited = (now - request.requested_at).total_seconds() / 60.0
        escalation = (f"deferred {waited:.0f} min (max {guards.max_deferral_minutes}): granted anyway, "
                      f"escalated to {guards.escalate_to}")
        return BreakDecision(ESCALATED, now, request.reasons + (blocked.reason, escalation),
                             escalate_to=guards.escalate_to, guard=blocked.guard, detail=detail)
    retry_at = min(blocked.ready_at or now + RETRY_EVERY, deadline)
    return BreakDecision(DEFERRED, None, request.reasons + (f"deferred: {blocked.reason}",), retry_at=retry_at,
                         guard=blocked.guard, detail=detail)


def _granted(request: BreakRequest) -> str:
    when = "after the current interaction" if request.start == START_AFTER_CURRENT else "now"
    return f"granted: {request.minutes} min break {when}"


@dataclass(frozen=True)
class _Blocked:
    guard: str
    reason: str
    ready_at: datetime | None
    detail: Mapping[str, object]


def _blocking_guard(snapshot: TeamSnapshot, guards: Guards, now: datetime) -> _Blocked | None:
    """The first guard that holds the break back, with the moment it will let go when that is known."""
    for guard in (_spacing, _concurrency, _service_level):
        blocked = guard(snapshot, guards, now)
        if blocked is not None:
            return blocked
    return None


def _spacing(snapshot: TeamSnapshot, guards: Guards, now: datetime) -> _Blocked | None:
    last = snapshot.agent_last_break_ended_at
    if last is None:
        return None
    ready_at = last + timedelta(minutes=guards.min_minutes_between_breaks)
    if now >= ready_at:
        return None
    ago = (now - last).total_seconds() / 60.0
    return _Blocked(SPACING, f"spacing: last break ended {ago:.0f} min ago, {guards.min_minutes_between_breaks} min "
                             "required", ready_at,
                    {"minutes_since_last": round(ago, 1), "required": guards.min_minutes_between_breaks,
                     "ready_at": iso(ready_at)})


def _concurrency(snapshot: TeamSnapshot, guards: Guards, now: datetime) -> _Blocked | None:
    cap = concurrency_cap(guards, snapshot.team_size)
    if snapshot.on_break < cap:
        return None
    return _Blocked(CONCURRENCY, f"team concurrency cap: {snapshot.on_break} of {cap} allowed already on break",
                    None, {"on_break": snapshot.on_break, "cap": cap, "team_size": snapshot.team_size,
                           "fraction": guards.max_team_fraction_on_break})


def _service_level(snapshot: TeamSnapshot, guards: Guards, now: datetime) -> _Blocked | None:
    target = guards.service_level
    if target is None:
        return None
    answering = max(0, snapshot.available - snapshot.on_break - 1)
    predicted, abandonment = predict(target.model, snapshot.arrival_rate_per_s, snapshot.aht_s, answering,
                                     target.answer_within_seconds, target.patience_seconds)
    if predicted >= target.target:
        return None
    hang_ups = "" if abandonment is None else f" (Erlang A: {abandonment:.0%} of callers would hang up)"
    return _Blocked(SERVICE_LEVEL, f"service level: predicted {predicted:.0%} within {target.answer_within_seconds} s "
                                   f"with {answering} agents answering, below the {target.target:.0%} target{hang_ups}",
                    None, {"predicted": round(predicted, 4), "target": target.target, "model": target.model,
                           "answering": answering, "answer_within_seconds": target.answer_within_seconds,
                           "abandonment": None if abandonment is None else round(abandonment, 4)})
