"""Erlang A (M/M/n+M) against an exact numerical solution of the queue's Markov chain, against a seeded
discrete-event simulation (tests/support/queue_sim.py) over a grid of load, agents and patience, and its limits."""
from __future__ import annotations

import math

import pytest

from tests.support.queue_sim import simulate_queue
from wellbeing.erlang import ERLANG_A, ERLANG_C, erlang_a, predict, service_level

AHT = 180.0
WITHIN = 20.0
# (agents, offered load as a share of the agents, mean patience in seconds): under, near and over capacity.
GRID = [(agents, load, patience) for agents in (5, 20, 50) for load in (0.8, 0.95, 1.1) for patience in (30.0, 180.0)]
SIMULATED_ARRIVALS = 150_000


def markov_chain_service_level(rate: float, aht: float, agents: int, within: float, patience: float) -> float:
    """The same quantity computed another way: the stationary distribution of the number in the system
    (truncated far in the tail) and, for a caller who finds k waiting ahead, the chance of being answered within
    `within` from uniformising the chain "callers ahead of me" (moves up at n·μ + m·θ, hangs up at θ)."""
    mu, theta = 1.0 / aht, 1.0 / patience
    log_weights = [0.0]
    for j in range(1, agents + 2000):
        log_weights.append(log_weights[-1] + math.log(rate / (min(j, agents) * mu + max(0, j - agents) * theta)))
    top = max(log_weights)
    weights = [math.exp(w - top) for w in log_weights]
    pi = [w / sum(weights) for w in weights]
    ahead = [pi[agents + k] for k in range(len(pi) - agents)]
    last = max(k for k, p in enumerate(ahead) if p > 1e-15)
    ahead = ahead[:last + 1]
    uniform = agents * mu + (last + 1) * theta
    answered = done = 0.0
    poisson = math.exp(-uniform * within)
    for jump in range(int(uniform * within + 12 * math.sqrt(uniform * within) + 60)):
        answered += poisson * done
        moved = [0.0] * len(ahead)
        for m, p in enumerate(ahead):
            advance = agents * mu + m * theta
            if m == 0:
                done += p * advance / uniform
            else:
                moved[m - 1] += p * advance / uniform
            moved[m] += p * (1.0 - (advance + theta) / uniform)
        ahead = moved
        poisson *= uniform * within / (jump + 1)
    return sum(pi[:agents]) + answered


@pytest.mark.parametrize(("rate", "aht", "agents", "within", "patience"), [
    (100 / 1800, 180, 14, 20, 30), (10 / 300, 300, 11, 20, 120), (1.0, 300, 250, 20, 30),
    (1.2, 300, 250, 20, 60), (0.3, 300, 100, 20, 60), (4 / 60, 300, 20, 10, 45), (0.02, 60, 1, 5, 600),
])
def test_matches_the_markov_chain_solved_numerically(rate, aht, agents, within, patience):
    level, _ = erlang_a(rate, aht, agents, within, patience)
    assert level == pytest.approx(markov_chain_service_level(rate, aht, agents, within, patience), abs=1e-6)


@pytest.mark.parametrize(("agents", "load", "patience"), GRID)
def test_agrees_with_a_discrete_event_simulation(agents, load, patience):
    rate = load * agents / AHT
    simulated = simulate_queue(arrival_rate_per_s=rate, aht_s=AHT, agents=agents, answer_within_s=WITHIN,
                               patience_s=patience, arrivals=SIMULATED_ARRIVALS,
                               seed=agents * 1000 + round(load * 100) + int(patience))
    level, abandonment = erlang_a(rate, AHT, agents, WITHIN, patience)
    assert level == pytest.approx(simulated.service_level, abs=0.02)
    assert abandonment == pytest.approx(simulated.abandonment, abs=0.02)


def test_patient_callers_make_it_erlang_c():
    rate, aht, agents = 100 / 1800, 180.0, 14
    level, abandonment = erlang_a(rate, aht, agents, 20, 1e9)
    assert level == pytest.approx(service_level(rate, aht, agents, 20), abs=1e-6)
    assert abandonment < 1e-6


def test_impatient_callers_shorten_the_queue_for_those_who_stay():
    """Overloaded, Erlang C says nobody is answered in time; with abandonment the queue stays finite."""
    rate, aht, agents = 1.1 * 20 / 180, 180.0, 20
    assert service_level(rate, aht, agents, 20) == 0.0
    level, abandonment = erlang_a(rate, aht, agents, 20, 60)
    assert 0.3 < level < 0.9 and abandonment > 1 - 1 / 1.1


def test_more_agents_answer_more():
    levels = [erlang_a(0.5, 180, n, 20, 90)[0] for n in range(80, 110)]
    assert levels == sorted(levels)


def test_large_teams_and_edges():
    level, abandonment = erlang_a(5000 * 0.95 / 300, 300, 5000, 20, 120)
    assert 0.9 < level <= 1.0 and 0.0 <= abandonment < 0.01
    assert erlang_a(0.0, 300, 0, 20, 60) == (1.0, 0.0)
    assert erlang_a(1.0, 300, 0, 20, 60) == (0.0, 1.0)
    with pytest.raises(ValueError):
        erlang_a(1.0, 300, 10, 20, 0)


def test_predict_picks_the_model():
    assert predict(ERLANG_C, 0.05, 180, 14, 20) == (service_level(0.05, 180, 14, 20), None)
    assert predict(ERLANG_A, 0.05, 180, 14, 20, 60) == erlang_a(0.05, 180, 14, 20, 60)
    with pytest.raises(ValueError):
        predict(ERLANG_A, 0.05, 180, 14, 20)
    with pytest.raises(ValueError):
        predict("erlang_x", 0.05, 180, 14, 20)


@pytest.mark.parametrize(("agents", "load"), [(5, 0.8), (20, 0.8)])
def test_the_simulation_itself_reproduces_erlang_c_when_nobody_hangs_up(agents, load):
    """The simulation is checked on its own against the textbook formula, so it cannot share a mistake with
    `erlang_a`."""
    rate = load * agents / AHT
    simulated = simulate_queue(arrival_rate_per_s=rate, aht_s=AHT, agents=agents, answer_within_s=WITHIN,
                               patience_s=1e12, arrivals=SIMULATED_ARRIVALS, seed=agents)
    assert simulated.abandonment == 0.0
    assert simulated.service_level == pytest.approx(service_level(rate, AHT, agents, WITHIN), abs=0.02)
