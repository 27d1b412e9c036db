"""Replaying a rule set over past interactions: what breaks it would have granted, who peaked without one, and
the service level the team would have kept. The planner's decisions come from `wellbeing.planner.decide`; this
module only drives them through time (and is what `POST /break-rules/simulate` and bench/planner.py run).
"""
from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from wellbeing.erlang import erlang_a, service_level
from wellbeing.load import (
    DEFAULT_WEIGHTS,
    ON_BREAK,
    WORKING,
    AgentLoad,
    InteractionSignals,
    LoadWeights,
    add,
    decay,
    interaction_weight,
    set_state,
)
from wellbeing.planner import DEFERRED, ESCALATED, GRANTED, REFUSED, BreakRequest, TeamSnapshot, decide, iso
from wellbeing.rules import ERLANG_A, AgentSituation, Guards, RuleSet, evaluate, is_negative, load_threshold


@dataclass(frozen=True)
class RecordedInteraction:
    """One past interaction to replay: who handled it, when it closed, what it carried.

    `agent_reported`: not an interaction but the agent saying the last one rattled them (`POST …/rattled`): it
    adds `weights.agent_reported` to their load and runs the rules with `agent_reported`, and is no traffic.
    """

    agent_id: str
    at: datetime
    signals: InteractionSignals = InteractionSignals()
    agent_reported: bool = False


@dataclass(frozen=True)
class SimulationResult:
    """What a rule set would have done over a window, ready for JSON via `as_dict()`.

    `peaked_without_break`: agents whose load went over `load_threshold` while working and fell back below it
    (or the window ended) with no break starting in between. `outcomes` counts requests and their final
    outcome; "deferred" counts requests deferred at least once, "still_deferred" those waiting at the end.
    `unrelieved_minutes`: per agent-shift (agent, UTC day), minutes spent working with the load above the
    reference threshold (`load_threshold` unless the caller set one) — what a break policy should keep short.
    With an Erlang A service-level guard, `erlang_a_by_hour` holds (service level, abandonment) per hour, next
    to the Erlang C figures of `service_level_by_hour`.
    """

    team: str | None
    start: datetime
    end: datetime
    load_threshold: float
    outcomes: Mapping[str, int]
    breaks_per_agent: Mapping[str, int]
    minutes_off_queue: Mapping[str, int]
    peak_load: Mapping[str, float]
    minutes_above_threshold: Mapping[str, float]
    peaked_without_break: tuple[str, ...]
    service_level_by_hour: tuple[tuple[datetime, float | None], ...]
    unrelieved_minutes: Mapping[tuple[str, date], float] = field(default_factory=dict)
    reference_threshold: float | None = None
    erlang_a_by_hour: tuple[tuple[float, float] | None, ...] | None = None

    def unrelieved_percentiles(self) -> dict[str, float]:
        """p50 and p95 of minutes above the reference threshold while working, over agent-shifts worked."""
        values = sorted(self.unrelieved_minutes.values())
        return {"agent_shifts": len(values), "p50": _percentile(values, 0.5), "p95": _percentile(values, 0.95)}

    def mean_service_level(self) -> dict[str, float | None]:
        """Mean predicted service level over the hours with traffic, per model (Erlang A only when it is used)."""
        levels = [level for _, level in self.service_level_by_hour if level is not None]
        out: dict[str, float | None] = {"erlang_c": round(sum(levels) / len(levels), 4) if levels else None}
        if self.erlang_a_by_hour is not None:
            pairs = [pair for pair in self.erlang_a_by_hour if pair is not None]
            out["erlang_a"] = round(sum(p[0] for p in pairs) / len(pairs), 4) if pairs else None
            out["erlang_a_abandonment"] = round(sum(p[1] for p in pairs) / len(pairs), 4) if pairs else None
        return out

    def as_dict(self) -> dict:
        return {
            "team": self.team, "start": iso(self.start), "end": iso(self.end),
            "load_threshold": self.load_threshold, "outcomes": dict(self.outcomes),
            "breaks_per_agent": dict(self.breaks_per_agent), "minutes_off_queue": dict(self.minutes_off_queue),
            "total_minutes_off_queue": sum(self.minutes_off_queue.values()),
            "peak_load": {agent: round(value, 3) for agent, value in self.peak_load.items()},
            "minutes_above_threshold": {a: round(m, 1) for a, m in self.minutes_above_threshold.items()},
            "peaked_without_break": list(self.peaked_without_break),
            "service_level_by_hour": [self._hour(index, hour, level)
                                      for index, (hour, level) in enumerate(self.service_level_by_hour)],
            "mean_service_level": self.mean_service_level(),
            "unrelieved_minutes_per_agent_shift": self.unrelieved_percentiles(),
        }

    def _hour(self, index: int, hour: datetime, level: float | None) -> dict:
        row = {"hour": iso(hour), "predicted_service_level": level}
        if self.erlang_a_by_hour is not None:
            pair = self.erlang_a_by_hour[index]
            row["erlang_a_service_level"], row["erlang_a_abandonment"] = pair if pair else (None, None)
        return row


STAFFING_WINDOW = timedelta(hours=1)
TRAFFIC_WINDOW = timedelta(minutes=15)
DEFAULT_AHT_S = 300.0
_HOUR = timedelta(hours=1)
_BREAK_END, _RETRY = 0, 1


class _TrafficWindow:
    """Arrival rate and average handle time over a trailing window (O(1) amortised per interaction)."""

    def __init__(self, span: timedelta) -> None:
        self.span, self.items, self.seconds, self.timed = span, deque(), 0.0, 0

    def add(self, at: datetime, seconds: float | None) -> None:
        self.items.append((at, seconds))
        if seconds is not None:
            self.seconds, self.timed = self.seconds + seconds, self.timed + 1
        self._evict(at)

    def _evict(self, now: datetime) -> None:
        while self.items and self.items[0][0] <= now - self.span:
            _, seconds = self.items.popleft()
            if seconds is not None:
                self.seconds, self.timed = self.seconds - seconds, self.timed - 1

    def rate_per_s(self, now: datetime) -> float:
        self._evict(now)
        return len(self.items) / self.span.total_seconds()

    def aht_s(self) -> float:
        return self.seconds / self.timed if self.timed else DEFAULT_AHT_S


class _Staffing:
    """Agents who closed an interaction within the trailing window count as signed in."""

    def __init__(self, span: timedelta) -> None:
        self.span, self.items, self.present = span, deque(), Counter()

    def add(self, at: datetime, agent: str) -> None:
        self.items.append((at, agent))
        self.present[agent] += 1

    def count(self, now: datetime) -> int:
        while self.items and self.items[0][0] <= now - self.span:
            gone = self.items.popleft()[1]
            self.present[gone] -= 1
            if not self.present[gone]:
                del self.present[gone]
        return len(self.present)


class _Hourly:
    """Per-hour traffic, staffing and minutes off-queue, for the predicted service level per hour."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.origin = start.replace(minute=0, second=0, microsecond=0)
        size = max(0, math.ceil((end - self.origin) / _HOUR))
        self.count, self.seconds, self.timed = [0] * size, [0.0] * size, [0] * size
        self.agents: list[set[str]] = [set() for _ in range(size)]
        self.break_minutes = [0.0] * size

    def interaction(self, at: datetime, agent: str, seconds: float | None) -> None:
        index = (at - self.origin) // _HOUR
        self.count[index] += 1
        self.agents[index].add(agent)
        if seconds is not None:
            self.seconds[index] += seconds
            self.timed[index] += 1

    def off_queue(self, begin: datetime, end: datetime) -> None:
        begin, end = max(begin, self.start), min(end, self.end)
        while begin < end:
            index = (begin - self.origin) // _HOUR
            stop = min(end, self.origin + (index + 1) * _HOUR)
            self.break_minutes[index] += (stop - begin).total_seconds() / 60.0
            begin = stop

    def service_levels(self, guards: Guards) -> tuple[tuple[datetime, float | None], ...]:
        within = guards.service_level.answer_within_seconds if guards.service_level else 20
        return tuple((self.origin + index * _HOUR, self._level(index, within)) for index in range(len(self.count)))

    def _inputs(self, index: int) -> tuple[float, float, int]:
        hour = self.origin + index * _HOUR
        covered = (min(hour + _HOUR, self.end) - max(hour, self.start)).total_seconds()
        aht = self.seconds[index] / self.timed[index] if self.timed[index] else DEFAULT_AHT_S
        answering = max(0, math.floor(len(self.agents[index]) - self.break_minutes[index] / 60.0))
        return self.count[index] / covered, aht, answering

    def _level(self, index: int, within: float) -> float | None:
        if not self.count[index]:
            return None
        return round(service_level(*self._inputs(index), within), 4)

    def erlang_a(self, guards: Guards) -> tuple[tuple[float, float] | None, ...] | None:
        """(service level, abandonment) per hour under Erlang A, when the guard uses it; else None."""
        target = guards.service_level
        if target is None or target.model != ERLANG_A:
            return None
        return tuple(None if not self.count[index] else tuple(round(value, 4) for value in erlang_a(
            *self._inputs(index), target.answer_within_seconds, target.patience_seconds))
            for index in range(len(self.count)))


class _Replay:
    """Mutable state of one simulation run; every step is O(1) amortised (dicts, deques and a heap)."""

    def __init__(self, rule_set: RuleSet, agents: Iterable[str], team: str | None, start: datetime,
                 end: datetime, weights: LoadWeights, reference_threshold: float | None = None) -> None:
        self.rule_set, self.guards, self.team, self.weights = rule_set, rule_set.guards, team, weights
        self.start, self.end, self.threshold = start, end, load_threshold(rule_set)
        self.reference = self.threshold if reference_threshold is None else reference_threshold
        self.unrelieved: Counter[tuple[str, date]] = Counter()
        self.last_signals: dict[str, InteractionSignals] = {}
        self.roster = set(agents)
        self.loads: dict[str, AgentLoad] = {}
        self.streak: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.above: Counter[str] = Counter()
        self.over_since: dict[str, datetime] = {}
        self.uncovered: set[str] = set()
        self.pending: dict[str, BreakRequest] = {}
        self.break_ends: dict[str, datetime] = {}
        self.last_break_end: dict[str, datetime] = {}
        self.shift_breaks: Counter[tuple[str, date]] = Counter()
        self.breaks: Counter[str] = Counter()
        self.off_queue: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.timeline: list[tuple[datetime, int, int, str]] = []
        self.sequence = 0
        self.traffic, self.staffing = _TrafficWindow(TRAFFIC_WINDOW), _Staffing(STAFFING_WINDOW)
        self.hours = _Hourly(start, end)

    def interaction(self, item: RecordedInteraction) -> None:
        if item.agent_reported:
            self._report(item)
            return
        agent, at = item.agent_id, item.at
        self.last_signals[agent] = item.signals
        self._run_timeline(at)
        self.roster.add(agent)
        self.traffic.add(at, item.signals.duration_seconds)
        self.staffing.add(at, agent)
        self.hours.interaction(at, agent, item.signals.duration_seconds)
        self.unrelieved.setdefault((agent, _shift(at)), 0.0)
        self._advance(agent, at)
        self.loads[agent] = add(self.loads[agent], interaction_weight(item.signals, self.weights).total, at,
                                self.weights)
        self._watch_threshold(agent, at)
        self.streak[agent] = self.streak[agent] + 1 if is_negative(item.signals) else 0
        if agent not in self.pending and agent not in self.break_ends:
            self._evaluate(item)

    def _report(self, item: RecordedInteraction) -> None:
        """The agent said a call rattled them: load, then the rules on their last interaction with that fact."""
        agent, at = item.agent_id, item.at
        self._run_timeline(at)
        self.roster.add(agent)
        self._advance(agent, at)
        self.loads[agent] = add(self.loads[agent], self.weights.agent_reported, at, self.weights)
        self._watch_threshold(agent, at)
        if agent not in self.pending and agent not in self.break_ends:
            situation = AgentSituation.after(self.last_signals.get(agent, InteractionSignals()),
                                             load=self.loads[agent].value, consecutive_negative=self.streak[agent],
                                             agent_reported=True)
            self._request(agent, situation, at)

    def _watch_threshold(self, agent: str, at: datetime) -> None:
        """Remember when an agent went over the threshold while working, until a break covers it."""
        value = self.loads[agent].value
        self.peak[agent] = max(self.peak[agent], value)
        if value >= self.threshold and agent not in self.break_ends:
            self.over_since.setdefault(agent, at)

    def _evaluate(self, item: RecordedInteraction) -> None:
        agent = item.agent_id
        situation = AgentSituation.after(item.signals, load=self.loads[agent].value,
                                         consecutive_negative=self.streak[agent])
        self._request(agent, situation, item.at)

    def _request(self, agent: str, situation: AgentSituation, at: datetime) -> None:
        match = evaluate(self.rule_set, situation)
        if match is not None:
            self.outcomes["requests"] += 1
            self._decide(BreakRequest.from_match(match, agent_id=agent, team=self.team, at=at), at)

    def _snapshot(self, agent: str, now: datetime) -> TeamSnapshot:
        on_break = len(self.break_ends)
        return TeamSnapshot(
            team_size=len(self.roster), available=max(self.staffing.count(now), on_break + 1), on_break=on_break,
            agent_breaks_this_shift=self.shift_breaks[(agent, _shift(now))],
            agent_last_break_ended_at=self.last_break_end.get(agent),
            arrival_rate_per_s=self.traffic.rate_per_s(now), aht_s=self.traffic.aht_s())

    def _decide(self, request: BreakRequest, now: datetime) -> None:
        agent = request.agent_id
        decision = decide(request, self._snapshot(agent, now), self.guards, now)
        if decision.outcome == DEFERRED:
            if agent not in self.pending:
                self.outcomes[DEFERRED] += 1
            self.pending[agent] = request
            self._schedule(decision.retry_at, _RETRY, agent)
            return
        self.pending.pop(agent, None)
        self.outcomes[decision.outcome] += 1
        if decision.takes_break:
            self._start_break(agent, now, request.minutes)

    def _start_break(self, agent: str, at: datetime, minutes: int) -> None:
        ends = at + timedelta(minutes=minutes)
        self.over_since.pop(agent, None)
        self._advance(agent, at)
        self.loads[agent] = set_state(self.loads[agent], ON_BREAK, at, self.weights)
        self.break_ends[agent] = ends
        self.breaks[agent] += 1
        self.off_queue[agent] += minutes
        self.shift_breaks[(agent, _shift(at))] += 1
        self.streak[agent] = 0
        self.hours.off_queue(at, ends)
        self._schedule(ends, _BREAK_END, agent)

    def _end_break(self, agent: str, at: datetime) -> None:
        self._advance(agent, at)
        self.loads[agent] = set_state(self.loads[agent], WORKING, at, self.weights)
        del self.break_ends[agent]
        self.last_break_end[agent] = at

    def _schedule(self, at: datetime, kind: int, agent: str) -> None:
        self.sequence += 1
        heapq.heappush(self.timeline, (at, kind, self.sequence, agent))

    def _run_timeline(self, until: datetime) -> None:
        while self.timeline and self.timeline[0][0] <= until:
            at, kind, _, agent = heapq.heappop(self.timeline)
            if kind == _BREAK_END:
                self._end_break(agent, at)
            elif agent in self.pending:
                self._decide(self.pending[agent], at)

    def _advance(self, agent: str, at: datetime) -> None:
        """Decay the agent's load to `at`, counting the minutes it spent above the threshold on the way."""
        load = self.loads.get(agent) or AgentLoad(0.0, self.start)
        self.above[agent] += _minutes_above(load, at, self.threshold, self.weights)
        if load.state == WORKING:   # a gap longer than the staffing window is time off shift, not work
            until = min(at, max(load.as_of, self.start) + STAFFING_WINDOW)
            unrelieved = _minutes_above(load, until, self.reference, self.weights)
            if unrelieved:   # counted only for shifts the agent worked (the interactions make those keys)
                self.unrelieved[(agent, _shift(load.as_of))] += unrelieved
        self.loads[agent] = decay(load, at, self.weights)
        if agent in self.over_since and self.loads[agent].value < self.threshold:
            del self.over_since[agent]
            self.uncovered.add(agent)

    def finish(self) -> SimulationResult:
        self._run_timeline(self.end)
        for agent in list(self.loads):
            self._advance(agent, self.end)
        self.outcomes["still_deferred"] = len(self.pending)
        agents = sorted(self.roster)
        peaked = tuple(a for a in agents if a in self.uncovered or a in self.over_since)
        keys = ("requests", GRANTED, DEFERRED, ESCALATED, REFUSED, "still_deferred")
        return SimulationResult(
            team=self.team, start=self.start, end=self.end, load_threshold=self.threshold,
            outcomes={key: self.outcomes[key] for key in keys},
            breaks_per_agent={a: self.breaks[a] for a in agents},
            minutes_off_queue={a: self.off_queue[a] for a in agents},
            peak_load={a: float(self.peak[a]) for a in agents},
            minutes_above_threshold={a: float(self.above[a]) for a in agents},
            peaked_without_break=peaked, service_level_by_hour=self.hours.service_levels(self.guards),
            unrelieved_minutes=dict(self.unrelieved), reference_threshold=self.reference,
            erlang_a_by_hour=self.hours.erlang_a(self.guards))


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values (0 for none), in minutes to one decimal."""
    if not values:
        return 0.0
    return round(values[min(len(values) - 1, max(0, math.ceil(share * len(values)) - 1))], 1)


def _shift(moment: datetime) -> date:
    return moment.astimezone(timezone.utc).date()


def _minutes_above(load: AgentLoad, at: datetime, threshold: float, weights: LoadWeights) -> float:
    """Exact time above `threshold` between `as_of` and `at`: decay is monotone between events."""
    if load.value <= threshold or at <= load.as_of:
        return 0.0
    to_threshold = weights.half_life_minutes(load.state) * math.log2(load.value / threshold)
    return min(to_threshold, (at - load.as_of).total_seconds() / 60.0)


def simulate(rule_set: RuleSet, interactions: Iterable[RecordedInteraction], agents: Iterable[str],
             team: str | None, start: datetime, end: datetime, *,
             weights: LoadWeights = DEFAULT_WEIGHTS, reference_threshold: float | None = None) -> SimulationResult:
    """Replay past interactions through the load model, the rules and the planner, deterministically.

    Interactions are replayed as recorded (a break does not move them). Staffing is estimated from the data:
    agents who closed an interaction in the last hour are signed in; arrival rate and handle time come from
    the last 15 minutes. A shift is a UTC calendar day. Each agent holds at most one outstanding request.
    """
    replay = _Replay(rule_set, agents, team, start, end, weights, reference_threshold)
    for interaction in sorted(interactions, key=lambda item: item.at):
        if start <= interaction.at < end:
            replay.interaction(interaction)
    return replay.finish()
