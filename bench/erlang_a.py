"""Erlang A against a discrete-event simulation: the validation table of docs/wellbeing.md.

For each (agents, offered load, mean patience) of the test grid (tests/unit/test_erlang_a.py, same seeds), the
service level (answered within 20 s, of all arrivals) and abandonment from `wellbeing.erlang.erlang_a` next to a
seeded simulation of the M/M/n+M queue (tests/support/queue_sim.py), and what Erlang C would have predicted.

Usage: .venv/bin/python bench/erlang_a.py [--arrivals N]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.queue_sim import simulate_queue  # noqa: E402
from tests.unit.test_erlang_a import AHT, GRID, SIMULATED_ARRIVALS, WITHIN  # noqa: E402
from wellbeing.erlang import erlang_a, service_level  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=SIMULATED_ARRIVALS)
    args = parser.parse_args()
    print(f"AHT {AHT:.0f} s, answered within {WITHIN:.0f} s; simulation: {args.arrivals:,} callers after warm-up")
    print("| agents | load | patience s | SL Erlang A | SL simulated | abs diff | abandon Erlang A | abandon simulated "
          "| SL Erlang C |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst, begin = 0.0, time.perf_counter()
    for agents, load, patience in GRID:
        rate = load * agents / AHT
        sim = simulate_queue(arrival_rate_per_s=rate, aht_s=AHT, agents=agents, answer_within_s=WITHIN,
                             patience_s=patience, arrivals=args.arrivals,
                             seed=agents * 1000 + round(load * 100) + int(patience))
        level, abandonment = erlang_a(rate, AHT, agents, WITHIN, patience)
        worst = max(worst, abs(level - sim.service_level))
        print(f"| {agents} | {load:.2f} | {patience:.0f} | {level:.4f} | {sim.service_level:.4f} | "
              f"{abs(level - sim.service_level):.4f} | {abandonment:.4f} | {sim.abandonment:.4f} | "
              f"{service_level(rate, AHT, agents, WITHIN):.4f} |")
    print(f"\nlargest service-level difference: {worst:.4f} (test tolerance 0.02); "
          f"{time.perf_counter() - begin:.1f} s")


if __name__ == "__main__":
    main()
