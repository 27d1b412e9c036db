"""A small seeded discrete-event simulation of an M/M/n+M call queue (Poisson arrivals, exponential handle
times and patience, first come first served), to check Erlang A against. Test support only: a simulation.

A caller is answered when an agent frees up before their patience runs out; one who is not answered by then
hangs up. Since the queue is first come first served and patience is drawn on arrival, abandonment needs no
event of its own: a caller whose deadline has passed is skipped when they reach the head of the queue.
"""
from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class SimulatedQueue:
    arrivals: int
    answered_within: int
    abandoned: int

    @property
    def service_level(self) -> float:
        """Share of all arrivals answered within the target (those who hang up first are not answered)."""
        return self.answered_within / self.arrivals

    @property
    def abandonment(self) -> float:
        return self.abandoned / self.arrivals


def simulate_queue(*, arrival_rate_per_s: float, aht_s: float, agents: int, answer_within_s: float,
                   patience_s: float, arrivals: int, seed: int, warm_up: int = 2_000) -> SimulatedQueue:
    """Run `warm_up + arrivals` callers through the queue; only the last `arrivals` are counted."""
    rng = random.Random(seed)
    expo = rng.expovariate
    busy_until: list[float] = []            # heap of the busy agents' finishing times
    waiting: deque[tuple[float, float, bool]] = deque()   # (arrived, hangs up at, counted)
    now, counted, answered, abandoned = 0.0, 0, 0, 0
    total = warm_up + arrivals
    next_arrival = expo(arrival_rate_per_s)
    index = 0

    def serve_next(free_at: float) -> None:
        nonlocal answered, abandoned
        while waiting:
            arrived, deadline, count = waiting.popleft()
            if deadline < free_at:
                abandoned += count
                continue
            answered += count and free_at - arrived <= answer_within_s
            heapq.heappush(busy_until, free_at + expo(1.0 / aht_s))
            return

    while index < total:
        if busy_until and busy_until[0] <= next_arrival:
            serve_next(heapq.heappop(busy_until))
            continue
        now = next_arrival
        count = index >= warm_up
        counted += count
        if len(busy_until) < agents:       # an agent is free, so nobody is waiting
            answered += count
            heapq.heappush(busy_until, now + expo(1.0 / aht_s))
        else:
            waiting.append((now, now + expo(1.0 / patience_s), count))
        index += 1
        next_arrival = now + expo(arrival_rate_per_s)
    while busy_until and waiting:          # the last callers: served or hang up, nobody new arrives
        serve_next(heapq.heappop(busy_until))
    return SimulatedQueue(arrivals=counted, answered_within=answered, abandoned=abandoned)
