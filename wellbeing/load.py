"""Emotional load: what an interaction costs an agent, and how that cost fades while they work or rest.

An agent's load is (value, as-of, state). It decays exponentially with the half-life of the state the agent
was in (working: 60 min, on a break: 15 min by default) and each interaction adds its weight, so every update
is O(1) and needs no history.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from types import MappingProxyType

WORKING = "working"
ON_BREAK = "on_break"
STATES = (WORKING, ON_BREAK)
RESOLUTIONS = ("resolved", "unresolved", "workaround", "unknown")
INTERACTION = "interaction"
STATE = "state"
AGENT_REPORTED = "rattled"   # the agent said an interaction rattled them (wellbeing.rattled)


@dataclass(frozen=True)
class LoadWeights:
    """How much each aspect of an interaction weighs; the defaults make ~2.5 mean "needs a pause".

    - `base`: every interaction costs a little (about 0.4 at steady state for 5 interactions an hour).
    - `sentiment`: multiplied by how negative the customer was (−0.7 adds 0.7); positive sentiment adds nothing.
    - `abusive_language`, `threatened_churn`: added when the interaction carries that signal.
    - `escalated_from_bot`: the customer arrived already frustrated by the bot.
    - `unresolved`: the agent could not fix it.
    - `duration_over_norm`: multiplied by (duration / category norm − 1) when above 1, at most
      `duration_ratio_cap − 1`.
    - `negative_reply`: the customer's check-in reply about this agent's case was negative.
    - `agent_reported`: the agent said an interaction rattled them (`POST /api/v1/agents/<id>/rattled`).
    - `category_weights`: multiplier per category (missing categories weigh 1.0).
    - `half_life_working_minutes`, `half_life_on_break_minutes`: how fast load fades in each state.
    """

    base: float = 0.05
    sentiment: float = 1.0
    abusive_language: float = 1.0
    threatened_churn: float = 0.5
    escalated_from_bot: float = 0.2
    unresolved: float = 0.3
    duration_over_norm: float = 0.25
    duration_ratio_cap: float = 3.0
    negative_reply: float = 0.5
    agent_reported: float = 1.0
    category_weights: Mapping[str, float] = field(default_factory=dict, hash=False)
    half_life_working_minutes: float = 60.0
    half_life_on_break_minutes: float = 15.0

    def __post_init__(self) -> None:
        if self.half_life_working_minutes <= 0 or self.half_life_on_break_minutes <= 0:
            raise ValueError("half-lives must be positive")
        object.__setattr__(self, "category_weights", MappingProxyType(dict(self.category_weights)))

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> LoadWeights:
        """Build from a config section; an unknown key is a mistake worth failing on."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown load weight settings: {', '.join(unknown)}")
        return cls(**settings)

    def half_life_minutes(self, state: str) -> float:
        return self.half_life_on_break_minutes if state == ON_BREAK else self.half_life_working_minutes


DEFAULT_WEIGHTS = LoadWeights()


@dataclass(frozen=True)
class InteractionSignals:
    """What the load model reads from one closed interaction."""

    sentiment: float | None = None
    signals: tuple[str, ...] = ()
    escalated_from_bot: bool = False
    resolution: str = "unknown"
    duration_seconds: float | None = None
    category: str | None = None
    category_norm_seconds: float | None = None
    negative_reply: bool = False

    def __post_init__(self) -> None:
        if self.sentiment is not None and not -1.0 <= self.sentiment <= 1.0:
            raise ValueError("sentiment must be within -1..1")
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}")
        object.__setattr__(self, "signals", tuple(self.signals))

    @property
    def duration_ratio(self) -> float | None:
        """Duration against the category norm (2.0 = twice as long as usual), when both are known."""
        if self.duration_seconds is None or not self.category_norm_seconds:
            return None
        return self.duration_seconds / self.category_norm_seconds


@dataclass(frozen=True)
class WeightBreakdown:
    """An interaction's weight and its parts, so a manager can see why it counted."""

    total: float
    parts: Mapping[str, float]

    def as_dict(self) -> dict:
        return {"total": self.total, "parts": dict(self.parts)}


def interaction_weight(signals: InteractionSignals, weights: LoadWeights = DEFAULT_WEIGHTS) -> WeightBreakdown:
    """Sum the contributions; the category multiplier shows as its own part so the parts add up to the total."""
    parts = {"base": weights.base}
    if signals.sentiment is not None and signals.sentiment < 0:
        parts["sentiment"] = weights.sentiment * -signals.sentiment
    for name in ("abusive_language", "threatened_churn"):
        if name in signals.signals:
            parts[name] = getattr(weights, name)
    if signals.escalated_from_bot:
        parts["escalated_from_bot"] = weights.escalated_from_bot
    if signals.resolution == "unresolved":
        parts["unresolved"] = weights.unresolved
    ratio = signals.duration_ratio
    if ratio is not None and ratio > 1.0:
        parts["duration_over_norm"] = weights.duration_over_norm * (min(ratio, weights.duration_ratio_cap) - 1.0)
    if signals.negative_reply:
        parts["negative_reply"] = weights.negative_reply
    subtotal = sum(parts.values())
    multiplier = weights.category_weights.get(signals.category, 1.0) if signals.category else 1.0
    if multiplier != 1.0:
        parts["category"] = subtotal * (multiplier - 1.0)
    return WeightBreakdown(total=subtotal * multiplier, parts=parts)


@dataclass(frozen=True)
class AgentLoad:
    """Load `value` as of `as_of` (aware, stored in UTC) while the agent is in `state`."""

    value: float
    as_of: datetime
    state: str = WORKING

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        if self.state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}")
        if self.as_of.tzinfo is not timezone.utc:
            object.__setattr__(self, "as_of", self.as_of.astimezone(timezone.utc))


def state_for_status(status: str) -> str:
    """Map a routing status (available, busy, wrap_up, on_break, offline) to a load state: off-queue rests."""
    return ON_BREAK if status in ("on_break", "offline") else WORKING


def decay_factor(elapsed: timedelta, state: str, weights: LoadWeights = DEFAULT_WEIGHTS) -> float:
    """Fraction of load left after `elapsed` in `state`."""
    minutes = elapsed.total_seconds() / 60.0
    return 0.5 ** (minutes / weights.half_life_minutes(state))


def decay(load: AgentLoad, now: datetime, weights: LoadWeights = DEFAULT_WEIGHTS) -> AgentLoad:
    """Load at `now`; asking about a moment before `as_of` returns the load unchanged (history is not kept)."""
    if now <= load.as_of:
        return load
    return AgentLoad(load.value * decay_factor(now - load.as_of, load.state, weights), now, load.state)


def add(load: AgentLoad, weight: float, at: datetime, weights: LoadWeights = DEFAULT_WEIGHTS) -> AgentLoad:
    """Add an interaction's weight at `at`.

    A late event (at < as_of) adds its weight as it would have decayed from `at` to `as_of` in the current
    state, and keeps `as_of`: exact when the state did not change in between, never a jump backwards in time.
    """
    if weight < 0:
        raise ValueError("weight must not be negative")
    if at < load.as_of:
        late = weight * decay_factor(load.as_of - at, load.state, weights)
        return AgentLoad(load.value + late, load.as_of, load.state)
    current = decay(load, at, weights)
    return AgentLoad(current.value + weight, current.as_of, current.state)


def set_state(load: AgentLoad, state: str, at: datetime, weights: LoadWeights = DEFAULT_WEIGHTS) -> AgentLoad:
    """Switch state at `at` after decaying in the old one; a late change applies from `as_of` on."""
    current = decay(load, at, weights)
    return AgentLoad(current.value, current.as_of, state)


def series(events: Iterable[tuple[datetime, str, float | str]], start: datetime, end: datetime,
           step: timedelta, weights: LoadWeights = DEFAULT_WEIGHTS, *,
           initial: AgentLoad | None = None) -> list[tuple[datetime, float]]:
    """Load sampled every `step` from `start` to `end` (e.g. a 24 h chart) from (at, kind, weight|state) events.

    `kind` is "interaction" (payload: weight) or "state" (payload: "working" | "on_break"). Events before
    `start` count. Sorting is O(n) for events already in order, so the whole series is O(n + points).
    """
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    ordered = sorted(events, key=lambda event: event[0])
    origin = min(start, ordered[0][0]) if ordered else start
    load = initial or AgentLoad(0.0, origin, WORKING)
    points, index, moment = [], 0, start
    while moment <= end:
        while index < len(ordered) and ordered[index][0] <= moment:
            load = _apply(load, ordered[index], weights)
            index += 1
        points.append((moment, decay(load, moment, weights).value))
        moment += step
    return points


def _apply(load: AgentLoad, event: tuple[datetime, str, float | str], weights: LoadWeights) -> AgentLoad:
    at, kind, payload = event
    if kind == INTERACTION:
        return add(load, float(payload), at, weights)
    if kind == STATE:
        return set_state(load, str(payload), at, weights)
    raise ValueError(f"unknown load event kind: {kind!r}")
