"""Bench: planner decisions per second at 50 and at 5,000 agents, and one simulated week of a 200-agent team.

The baseline row computes Erlang B by its O(N) recurrence at every team size (the obvious design); ours
switches to the constant-time integral form above `RECURRENCE_MAX_AGENTS`, so per-decision cost stays flat.

Usage: .venv/bin/python bench/planner.py [--decisions N] [--repeat N]
"""
from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wellbeing import erlang  # noqa: E402
from wellbeing.load import AgentLoad, InteractionSignals, add, interaction_weight  # noqa: E402
from wellbeing.planner import BreakRequest, TeamSnapshot, decide  # noqa: E402
from wellbeing.rules import DEFAULT_RULE_SET, AgentSituation, evaluate, is_negative  # noqa: E402
from wellbeing.simulation import RecordedInteraction, simulate  # noqa: E402

START = datetime(2026, 11, 16, tzinfo=timezone.utc)
AHT_S = 300.0
OCCUPANCY = 0.8
PER_AGENT_GAP_S = 8 * 3600 / 40
WARM_UP_PER_AGENT = 40
TEAM_SIZES = (50, 500, 5000)


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


def decide_only(agents: int, count: int) -> float:
    """decide() calls per second over varied snapshots."""
    rng = random.Random(agents)
    cases = [(BreakRequest(f"ag_{i}", "t", "after abuse", 5, "after_current", START, ()), snapshot(rng, agents))
             for i in range(count)]
    begin = time.perf_counter()
    for request, team in cases:
        decide(request, team, DEFAULT_RULE_SET.guards, START)
    return count / (time.perf_counter() - begin)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    shares: dict[int, float] = {}
    rows = [
        ("decide(), all guards", lambda n: best(args.repeat, decide_only, n, args.decisions)),
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
    items = week_of_interactions(200, 40)
    begin = time.perf_counter()
    result = simulate(DEFAULT_RULE_SET, items, [f"ag_{i:03d}" for i in range(200)], "bench", START,
                      START + timedelta(days=7))
    elapsed = time.perf_counter() - begin
    print(f"\nsimulate(): one week, 200 agents, {len(items):,} interactions: {elapsed:.2f} s "
          f"({len(items) / elapsed:,.0f} interactions/s)")
    print("  outcomes: " + ", ".join(f"{key} {value:,}" for key, value in result.outcomes.items()))
    print(f"  minutes off-queue: {sum(result.minutes_off_queue.values()):,}; "
          f"agents over threshold without a break: {len(result.peaked_without_break)}")


if __name__ == "__main__":
    main()
