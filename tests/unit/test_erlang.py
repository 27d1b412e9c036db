"""Erlang B/C against exact rational arithmetic and against published table values."""
from fractions import Fraction
from math import exp, factorial, log

import pytest
from hypothesis import given, settings, strategies as st

from wellbeing import erlang
from wellbeing.erlang import agents_needed, erlang_b, erlang_c, service_level


def exact_b(traffic: Fraction, agents: int) -> Fraction:
    """Erlang B from its definition, (A^N/N!) / Σ_{k≤N} A^k/k!, scaled by q^N·N! (A = p/q) to stay in integers."""
    p, q = traffic.numerator, traffic.denominator
    term = q ** agents * factorial(agents)
    total = term
    for k in range(1, agents + 1):
        term = term * p // (q * k)
        total += term
    return Fraction(term, total)


def exact_c(traffic: Fraction, agents: int) -> Fraction:
    """Erlang C from its textbook formula with factorials, in exact fractions."""
    top = traffic ** agents / factorial(agents) * agents / (agents - traffic)
    return top / (sum(traffic ** k / factorial(k) for k in range(agents)) + top)


def log_fraction(value: Fraction) -> float:
    return log(value.numerator) - log(value.denominator)


# --- published values -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("agents", "traffic", "blocking"), [
    # Erlang B table (grade of service 1 % and 2 %), as printed in standard traffic tables.
    (1, 0.0101, 0.01), (5, 1.361, 0.01), (10, 4.461, 0.01), (10, 5.084, 0.02),
    (20, 12.031, 0.01), (20, 13.182, 0.02), (50, 37.901, 0.01), (100, 84.064, 0.01),
])
def test_erlang_b_matches_published_table(agents, traffic, blocking):
    assert erlang_b(traffic, agents) == pytest.approx(blocking, rel=2e-3)


def test_two_erlangs_three_agents_wait_four_ninths():
    assert erlang_c(2.0, 3) == pytest.approx(4 / 9, rel=1e-12)


def test_ten_erlangs_eleven_agents():
    assert erlang_c(10.0, 11) == pytest.approx(0.6821, abs=5e-5)


def test_call_centre_worked_example_100_calls_per_half_hour():
    """100 calls in 30 min, 180 s handle time, 80 % within 20 s: 14 agents, Pw 17.41 %, service level 88.84 %."""
    rate = 100 / 1800
    assert erlang_c(rate * 180, 14) == pytest.approx(0.1741, abs=5e-5)
    assert service_level(rate, 180, 14, 20) == pytest.approx(0.8884, abs=5e-5)
    assert agents_needed(rate, 180, target=0.8, answer_within_s=20) == 14


# --- against the exact formula --------------------------------------------------------------------------

@pytest.mark.parametrize(("traffic", "agents"), [
    (Fraction(2), 3), (Fraction(10), 11), (Fraction(48), 55), (Fraction(1, 3), 1), (Fraction(250), 256),
    (Fraction(250), 257), (Fraction(900), 1000), (Fraction(990), 1000), (Fraction(1999, 2), 1000),
    (Fraction(100), 1000),
])
def test_erlang_c_matches_factorial_formula(traffic, agents):
    assert erlang_c(float(traffic), agents) == pytest.approx(float(exact_c(traffic, agents)), rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(agents=st.integers(min_value=1, max_value=1200), share=st.integers(min_value=1, max_value=800))
def test_erlang_b_matches_exact_on_both_sides_of_the_method_switch(agents, share):
    traffic = Fraction(agents * share, 400)
    expected = log_fraction(exact_b(traffic, agents))
    if expected < -700:
        assert erlang_b(float(traffic), agents) < 1e-300
        return
    assert log(erlang_b(float(traffic), agents)) == pytest.approx(expected, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("agents", [erlang.RECURRENCE_MAX_AGENTS, erlang.RECURRENCE_MAX_AGENTS + 1, 3000])
@pytest.mark.parametrize("load", [0.3, 0.9, 0.999, 1.2])
def test_recurrence_and_integral_agree(agents, load):
    traffic = load * agents
    recurrence = erlang._erlang_b_recurrence(traffic, agents)
    assert erlang._erlang_b_integral(traffic, agents) == pytest.approx(recurrence, rel=1e-11)


@settings(max_examples=200, deadline=None)
@given(traffic=st.floats(min_value=1e-300, max_value=1e6), agents=st.integers(min_value=1, max_value=3000))
def test_erlang_b_agrees_with_the_recurrence_everywhere(traffic, agents):
    recurrence = erlang._erlang_b_recurrence(traffic, agents)
    if recurrence < 1e-290:
        assert erlang_b(traffic, agents) < 1e-280
    else:
        assert erlang_b(traffic, agents) == pytest.approx(recurrence, rel=1e-10)


# --- large teams and edges ---------------------------------------------------------------------------------

def test_large_teams_do_not_overflow():
    assert 0.0 < erlang_c(4500.0, 5000) < 1e-12
    assert erlang_c(10.0, 5000) == 0.0
    assert erlang_b(5e-324, 1000) == 0.0
    assert 0.0 < erlang_c(990.0, 1000) < 1.0
    assert 0.0 < service_level(4.9, 1000, 5000, 20) < 1.0


def test_agents_not_keeping_up_always_wait():
    assert erlang_c(5.0, 5) == 1.0
    assert erlang_c(5.5, 5) == 1.0
    assert erlang_c(0.0, 0) == 1.0
    assert service_level(1.0, 10, 5, 20) == 0.0


def test_no_traffic_never_waits():
    assert erlang_c(0.0, 3) == 0.0
    assert service_level(0.0, 300, 3, 20) == 1.0
    assert agents_needed(0.0, 300, target=0.8, answer_within_s=20) == 0


def test_negative_inputs_are_rejected():
    with pytest.raises(ValueError):
        erlang_c(-1.0, 3)
    with pytest.raises(ValueError):
        erlang_b(1.0, -3)
    with pytest.raises(ValueError):
        service_level(1.0, -5, 3, 20)
    with pytest.raises(ValueError):
        agents_needed(1.0, 5, target=1.0, answer_within_s=20)


def test_service_level_formula():
    rate, aht, agents, within = 0.1, 120.0, 15, 20.0
    traffic = rate * aht
    expected = 1 - erlang_c(traffic, agents) * exp(-(agents - traffic) * within / aht)
    assert service_level(rate, aht, agents, within) == pytest.approx(expected, rel=1e-15)


@settings(max_examples=200, deadline=None)
@given(traffic=st.floats(min_value=0.01, max_value=3000), extra=st.integers(min_value=1, max_value=400))
def test_more_agents_wait_less(traffic, extra):
    agents = int(traffic) + extra
    fewer, more = erlang_c(traffic, agents), erlang_c(traffic, agents + 1)
    assert 0.0 <= more <= fewer <= 1.0
    assert erlang_b(traffic, agents) <= fewer


@settings(max_examples=100, deadline=None)
@given(rate=st.floats(min_value=0.001, max_value=5), aht=st.floats(min_value=10, max_value=900),
       target=st.floats(min_value=0.05, max_value=0.99))
def test_agents_needed_is_the_smallest_that_reaches_target(rate, aht, target):
    needed = agents_needed(rate, aht, target=target, answer_within_s=20)
    assert service_level(rate, aht, needed, 20) >= target
    assert service_level(rate, aht, needed - 1, 20) < target
