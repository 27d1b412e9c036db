"""Bench: planner decisions per second at 50 and at 5,000 agents (Erlang C and Erlang A service-level guards),
and one simulated week of a 200-agent team under rule presets: minutes each agent spent working above the load
threshold with no break, per agent-shift (p50, p95), next to the simulated service level.

The baseline row computes Erlang B by its O(N) recurrence at every team size (the obvious design); ours
switches to the constant-time integral form above `RECURRENCE_MAX_AGENTS`, so per-decision cost stays flat.

Usage: .venv/bin/python bench/planner.py [--decisions N] [--repeat N] [--skip-decisions]
"""
from __future__ import annotations

import argparse
import copy
import functools
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from wellbeing import erlang  # noqa: E402
from wellbeing.load import AgentLoad, InteractionSignals, add, interaction_weight  # noqa: E402
from wellbeing.planner import BreakRequest, TeamSnapshot, decide  # noqa: E402
from wellbeing.rule_schema import dump_rule_set, load_rule_set  # noqa: E402
from wellbeing.rules import DEFAULT_RULE_SET, AgentSituation, Guards, ServiceLevelGuard, evaluate, is_negative  # noqa: E402,E501
from wellbeing.simulation import RecordedInteraction, simulate  # noqa: E402

START = datetime(2026, 11, 16, tzinfo=timezone.utc)
AHT_S = 300.0
OCCUPANCY = 0.8
PER_AGENT_GAP_S = 8 * 3600 / 40
WARM_UP_PER_AGENT = 40
TEAM_SIZES = (50, 500, 5000)
PATIENCE_S = 120.0
ERLANG_A_GUARDS = replace(DEFAULT_RULE_SET.guards, service_level=ServiceLevelGuard(
    target=0.8, answer_within_seconds=20, model="erlang_a", patience_seconds=PATIENCE_S))
REFERENCE_THRESHOLD = 2.5
BUSY_FACTOR = 2.2


def random_signals(rng: random.Random) -> InteractionSignals:
    """A plausible mix: mostly routine, some negative, ~2 % abusive."""
    roll = rng.random()
    return InteractionSignals(
        sentiment=max(-1.0, min(1.0, rng.gauss(0.25, 0.45))),
        signals=("abusive_language",) if roll < 0.02 else ("threatened_churn",) if roll < 0.05 else (),
        escalated_from_bot=rng.random() < 0.1,
        resolution=rng.choice(("resolved",) * 7 + ("unresolved", "workaround", "unknown")),
        duration_seconds=rng.lognormvariate(5.5, 0.5), category="billing", category_norm_seconds=AHT_S)


def snapshot(rng: random.Random, agents: int) -> TeamSnapshot:
    """A busy team: traffic at 80 % of the agents, breaks below the cap, so every guard runs."""
    cap = max(1, int(DEFAULT_RULE_SET.guards.max_team_fraction_on_break * agents))
    return TeamSnapshot(team_size=agents, available=agents, on_break=rng.randrange(cap),
                        agent_breaks_this_shift=rng.randrange(4),
                        arrival_rate_per_s=OCCUPANCY * agents / AHT_S * rng.uniform(0.9, 1.1), aht_s=AHT_S)


def decide_only(agents: int, count: int, guards: Guards = DEFAULT_RULE_SET.guards) -> float:
    """decide() calls per second over varied snapshots."""
    rng = random.Random(agents)
    cases = [(BreakRequest(f"ag_{i}", "t", "after abuse", 5, "after_current", START, ()), snapshot(rng, agents))
             for i in range(count)]
    begin = time.perf_counter()
    for request, team in cases:
        decide(request, team, guards, START)
    return count / (time.perf_counter() - begin)


def decide_erlang_a(agents: int, count: int) -> float:
    return decide_only(agents, count, ERLANG_A_GUARDS)


@functools.cache
def warmed_up(agents: int) -> tuple[dict[str, AgentLoad], dict[str, int], datetime]:
    """Loads and streaks after a shift's worth of untimed interactions, so every team size starts mid-shift."""
    rng = random.Random(agents + 2)
    loads = {f"ag_{i}": AgentLoad(0.0, START) for i in range(agents)}
    streaks = {f"ag_{i}": 0 for i in range(agents)}
    at, gap = START, arrival_gap(agents)
    for _ in range(WARM_UP_PER_AGENT * agents):
        agent, signals, at = f"ag_{rng.randrange(agents)}", random_signals(rng), at + gap
        loads[agent] = add(loads[agent], interaction_weight(signals).total, at)
        streaks[agent] = streaks[agent] + 1 if is_negative(signals) else 0
    return loads, streaks, at


def arrival_gap(agents: int) -> timedelta:
    """Time between interactions on the team: each agent closes 40 in an 8 h shift, whatever the team size."""
    return timedelta(seconds=PER_AGENT_GAP_S / agents)


def interaction_stream(agents: int, count: int) -> tuple[float, float]:
    """Interactions per second through load → rules → decide (as the intake runs after each interaction),
    and the share of them that reached decide()."""
    rng = random.Random(agents + 1)
    warm_loads, warm_streaks, clock = warmed_up(agents)
    loads, streaks, gap = dict(warm_loads), dict(warm_streaks), arrival_gap(agents)
    stream = [(f"ag_{rng.randrange(agents)}", random_signals(rng), snapshot(rng, agents), clock + index * gap)
              for index in range(1, count + 1)]
    decided = 0
    begin = time.perf_counter()
    for agent, signals, team, at in stream:
        load = loads[agent] = add(loads[agent], interaction_weight(signals).total, at)
        streaks[agent] = streaks[agent] + 1 if is_negative(signals) else 0
        match = evaluate(DEFAULT_RULE_SET, AgentSituation.after(signals, load=load.value,
                                                                consecutive_negative=streaks[agent]))
        if match is not None:
            decided += 1
            decide(BreakRequest.from_match(match, agent_id=agent, team="t", at=at), team, DEFAULT_RULE_SET.guards, at)
    return count / (time.perf_counter() - begin), decided / count


def recurrence_only(measure, agents: int, count: int) -> float:
    """The same measurement with Erlang B by its O(N) recurrence at every size."""
    saved = erlang.RECURRENCE_MAX_AGENTS
    erlang.RECURRENCE_MAX_AGENTS = 10 ** 9
    try:
        return measure(agents, count)
    finally:
        erlang.RECURRENCE_MAX_AGENTS = saved


def week_of_interactions(agents: int, per_day: int) -> list[RecordedInteraction]:
    """Each agent works an 8 h shift a day starting at 06:00, 08:00, 10:00 or 14:00 UTC."""
    rng = random.Random(200)
    items = []
    for day in range(7):
        for agent in range(agents):
            moment = START + timedelta(days=day, hours=rng.choice((6, 8, 10, 14)))
            for _ in range(per_day):
                moment += timedelta(seconds=rng.expovariate(per_day / (8 * 3600)))
                items.append(RecordedInteraction(f"ag_{agent:03d}", moment, random_signals(rng)))
    items.sort(key=lambda item: item.at)
    return items


def best(repeat: int, measure, *args) -> float:
    return max(measure(*args) for _ in range(repeat))


def stream_rate(repeat: int, agents: int, count: int, shares: dict[int, float]) -> float:
    runs = [interaction_stream(agents, count) for _ in range(repeat)]
    shares[agents] = runs[0][1]
    return max(rate for rate, _ in runs)


def _rules(heavy_at: float = 2.5, heavy_minutes: int = 10, **guards) -> dict:
    document = copy.deepcopy(dump_rule_set(DEFAULT_RULE_SET))
    document["rules"][1]["when"]["load_at_least"] = heavy_at
    document["rules"][1]["then"]["break_minutes"] = heavy_minutes
    document["guards"].update(guards)
    return document


# The rule sets compared in the presets table: the default before issue 17, the shipped default, and the presets.
PRESETS = {
    "before: spacing 45, cap 4, wait ≤ 20": _rules(min_minutes_between_breaks=45, max_breaks_per_shift=4,
                                                    max_deferral_minutes=20),
    "default: spacing 20, cap 6, wait ≤ 10": dump_rule_set(DEFAULT_RULE_SET),
    "default with Erlang A (patience 120 s)": _rules(**{**dump_rule_set(DEFAULT_RULE_SET)["guards"], "service_level": {
        "target": 0.8, "answer_within_seconds": 20, "model": "erlang_a", "patience_seconds": PATIENCE_S}}),
    "protective: + 15 min heavy-load breaks": _rules(heavy_minutes=15, min_minutes_between_breaks=20,
                                                     max_breaks_per_shift=6, max_deferral_minutes=10),
    "service-first: heavy at 3.0, spacing 60, cap 3, wait ≤ 30, target 0.85":
        _rules(heavy_at=3.0, min_minutes_between_breaks=60, max_breaks_per_shift=3, max_deferral_minutes=30,
               service_level={"target": 0.85, "answer_within_seconds": 20}),
}


def busier(items: list[RecordedInteraction], factor: float) -> list[RecordedInteraction]:
    """The same week with handle times (and their category norm) × factor: ~85 % occupancy instead of ~38 %."""
    return [RecordedInteraction(item.agent_id, item.at, replace(
        item.signals, duration_seconds=item.signals.duration_seconds * factor,
        category_norm_seconds=item.signals.category_norm_seconds * factor)) for item in items]


def presets_table(items: list[RecordedInteraction], agents: list[str], title: str) -> None:
    """Per preset: minutes above the threshold while working with no break, per agent-shift, and service level."""
    print(f"\n{title}")
    print(f"{'rule set':72}{'p50':>6}{'p95':>6}{'peaked':>8}{'off-queue':>11}{'SL mean':>9}{'SL p5 h':>9}"
          f"{'Erlang A':>10}")
    for name, document in PRESETS.items():
        result = simulate(load_rule_set(document), items, agents, "bench", START, START + timedelta(days=7),
                          reference_threshold=REFERENCE_THRESHOLD)
        spread = result.unrelieved_percentiles()
        levels = sorted(level for _, level in result.service_level_by_hour if level is not None)
        means = result.mean_service_level()
        erlang_a = f"{means['erlang_a']:.3f}" if "erlang_a" in means else "–"
        print(f"{name:72}{spread['p50']:>6.1f}{spread['p95']:>6.1f}{len(result.peaked_without_break):>8}"
              f"{sum(result.minutes_off_queue.values()):>11,}{means['erlang_c']:>9.3f}"
              f"{levels[len(levels) // 20]:>9.3f}{erlang_a:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-decisions", action="store_true", help="only the simulated week and the presets")
    args = parser.parse_args()
    if not args.skip_decisions:
        decision_rates(args)
    items = week_of_interactions(200, 40)
    roster = [f"ag_{i:03d}" for i in range(200)]
    begin = time.perf_counter()
    result = simulate(DEFAULT_RULE_SET, items, roster, "bench", START, START + timedelta(days=7))
    elapsed = time.perf_counter() - begin
    print(f"\nsimulate(): one week, 200 agents, {len(items):,} interactions: {elapsed:.2f} s "
          f"({len(items) / elapsed:,.0f} interactions/s)")
    print("  outcomes: " + ", ".join(f"{key} {value:,}" for key, value in result.outcomes.items()))
    print(f"  minutes off-queue: {sum(result.minutes_off_queue.values()):,}; "
          f"agents over threshold without a break: {len(result.peaked_without_break)}")
    note = (f"p50/p95: minutes working with load ≥ {REFERENCE_THRESHOLD} and no break, per agent-shift; peaked: "
            "agents over their rule set's threshold with no break in between (of 200); SL: predicted Erlang C "
            "service level per hour (mean, 5th percentile hour); Erlang A: mean with patience 120 s")
    presets_table(items, roster, f"Rule presets over the simulated week as recorded (~38 % occupancy). {note}")
    presets_table(busier(items, BUSY_FACTOR), roster,
                  f"The same week with handle times × {BUSY_FACTOR} (~85 % occupancy, where breaks cost service level)")


def decision_rates(args) -> None:
    shares: dict[int, float] = {}
    rows = [
        ("decide(), all guards", lambda n: best(args.repeat, decide_only, n, args.decisions)),
        (f"decide(), Erlang A (patience {PATIENCE_S:.0f} s)",
         lambda n: best(args.repeat, decide_erlang_a, n, args.decisions)),
        ("interaction → load → rules → decide", lambda n: stream_rate(args.repeat, n, args.decisions, shares)),
        ("baseline: decide(), O(N) Erlang recurrence",
         lambda n: best(args.repeat, recurrence_only, decide_only, n, max(1, args.decisions // 10))),
    ]
    print(f"Planner decisions per second (best of {args.repeat}, {args.decisions:,} each; higher is better)")
    header = "".join(f"{f'{size:,} agents':>15}" for size in TEAM_SIZES)
    print(f"{'':44}{header}  {f'{TEAM_SIZES[-1]:,} / {TEAM_SIZES[0]:,}':>12}")
    for label, measure in rows:
        rates = [measure(size) for size in TEAM_SIZES]
        cells = "".join(f"{rate:>13,.0f}/s" for rate in rates)
        print(f"{label:44}{cells}  {rates[-1] / rates[0]:>12.2f}")
    print("share of interactions that reached decide(): "
          + ", ".join(f"{share:.0%} at {size:,} agents" for size, share in shares.items()))


if __name__ == "__main__":
    main()
