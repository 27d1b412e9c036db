"""Erlang B/C queueing formulas, so the planner can predict the service level a break would leave behind.

Small teams use the numerically stable Erlang B recurrence (O(N)). Above `RECURRENCE_MAX_AGENTS`
the same quantity comes from its integral form, 1/B(N, A) = A·∫₀^∞ e^(−A·t)·(1 + t)^N dt, evaluated in log
space with a fixed number of Gauss–Legendre nodes around the integrand's peak: constant time whatever the
team size (the planner's per-decision cost must not grow with agents), relative error ~1e-12 or better.
"""
from __future__ import annotations

import math
import operator

RECURRENCE_MAX_AGENTS = 160
_NODES_PER_PANEL = 24
_TAIL_NATS = 50.0
_LOG_UNDERFLOW = -746.0


def _gauss_legendre(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Nodes and weights on [−1, 1], computed once at import (Newton on the Legendre polynomial)."""
    nodes, weights = [], []
    for i in range(1, n + 1):
        x = math.cos(math.pi * (i - 0.25) / (n + 0.5))
        for _ in range(100):
            p_n, p_prev = _legendre(n, x)
            slope = n * (x * p_n - p_prev) / (x * x - 1.0)
            step = p_n / slope
            x -= step
            if abs(step) < 1e-16:
                break
        p_n, p_prev = _legendre(n, x)
        slope = n * (x * p_n - p_prev) / (x * x - 1.0)
        nodes.append(x)
        weights.append(2.0 / ((1.0 - x * x) * slope * slope))
    return tuple(nodes), tuple(weights)


def _legendre(n: int, x: float) -> tuple[float, float]:
    """P_n(x) and P_{n−1}(x) by the three-term recurrence."""
    prev, current = 1.0, x
    for k in range(2, n + 1):
        prev, current = current, ((2 * k - 1) * x * current - (k - 1) * prev) / k
    return current, prev


_NODES, _WEIGHTS = _gauss_legendre(_NODES_PER_PANEL)


def erlang_b(traffic_erlangs: float, agents: int) -> float:
    """Blocking probability of an M/M/N/N system (the building block of Erlang C)."""
    agents = operator.index(agents)
    if traffic_erlangs < 0 or agents < 0:
        raise ValueError("traffic and agents must not be negative")
    if traffic_erlangs == 0:
        return 1.0 if agents == 0 else 0.0
    if agents <= RECURRENCE_MAX_AGENTS:
        return _erlang_b_recurrence(traffic_erlangs, agents)
    return _erlang_b_integral(traffic_erlangs, agents)


def _erlang_b_recurrence(a: float, n: int) -> float:
    """B(0) = 1; B(k) = A·B(k−1) / (k + A·B(k−1)): every term stays in [0, 1], so nothing overflows."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def _erlang_b_integral(a: float, n: int) -> float:
    """B from 1/B = A·∫ e^(f(t)) dt, f(t) = n·log1p(t) − a·t, in log space around the peak t* = max(0, n/a − 1).

    With t = t* + (1 + t*)·s the exponent becomes h(s) = n·log1p(s) − c·s with c = max(a, n), so the
    integrand has the same shape for every team size; it is integrated where h > −`_TAIL_NATS`.
    """
    if n > a and n * math.log(a) - a - math.lgamma(n + 1) < _LOG_UNDERFLOW:
        return 0.0
    peak = max(0.0, n / a - 1.0)
    c = max(a, float(n))
    lowest = -peak / (1.0 + peak)
    right = _edge(n, c, math.sqrt(2.0 * _TAIL_NATS / n))
    left = max(lowest, _edge(n, c, -math.sqrt(2.0 * _TAIL_NATS / n))) if lowest < 0.0 else 0.0
    integral = _panel(n, c, left, 0.0) + _panel(n, c, 0.0, right)
    log_inverse = math.log(a) + n * math.log1p(peak) - a * peak + math.log1p(peak) + math.log(integral)
    return math.exp(-log_inverse)


def _edge(n: int, c: float, guess: float) -> float:
    """Where h(s) = n·log1p(s) − c·s falls to −`_TAIL_NATS`, on the side of `guess` (Newton; h is concave)."""
    s = guess
    for _ in range(20):
        if s <= -1.0:
            return -1.0
        step = (n * math.log1p(s) - c * s + _TAIL_NATS) / (n / (1.0 + s) - c)
        s -= step
        if abs(step) <= 1e-6 * abs(s):
            break
    return s


def _panel(n: int, c: float, lo: float, hi: float) -> float:
    """∫ exp(h(s)) ds over [lo, hi] with the fixed Gauss–Legendre rule."""
    if hi <= lo:
        return 0.0
    mid, half = (hi + lo) / 2.0, (hi - lo) / 2.0
    log1p, exp = math.log1p, math.exp
    total = 0.0
    for x, w in zip(_NODES, _WEIGHTS):
        s = mid + half * x
        total += w * exp(n * log1p(s) - c * s)
    return half * total


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Probability that a contact waits (M/M/N); 1.0 when the agents cannot keep up with the traffic."""
    agents = operator.index(agents)
    if traffic_erlangs < 0 or agents < 0:
        raise ValueError("traffic and agents must not be negative")
    if agents <= traffic_erlangs:
        return 1.0
    b = erlang_b(traffic_erlangs, agents)
    return agents * b / (agents - traffic_erlangs * (1.0 - b))


def service_level(arrival_rate_per_s: float, aht_s: float, agents: int, answer_within_s: float) -> float:
    """Fraction of contacts answered within `answer_within_s`: 1 − C·exp(−(N − A)·t / AHT)."""
    if arrival_rate_per_s < 0 or aht_s < 0 or answer_within_s < 0:
        raise ValueError("rate, handle time and answer time must not be negative")
    traffic = arrival_rate_per_s * aht_s
    if traffic == 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    waiting = erlang_c(traffic, agents)
    return max(0.0, 1.0 - waiting * math.exp(-(agents - traffic) * answer_within_s / aht_s))


def agents_needed(arrival_rate_per_s: float, aht_s: float, *, target: float, answer_within_s: float) -> int:
    """Smallest number of agents whose predicted service level reaches `target` (0 ≤ target < 1)."""
    if not 0.0 <= target < 1.0:
        raise ValueError("target must be in [0, 1)")

    def enough(n: int) -> bool:
        return service_level(arrival_rate_per_s, aht_s, n, answer_within_s) >= target

    low, high = 0, max(1, math.ceil(arrival_rate_per_s * aht_s))
    if enough(low):
        return 0
    while not enough(high):
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


# --- Erlang A (M/M/n+M: callers hang up after an exponential patience) ----------------------------------------

ERLANG_C = "erlang_c"
ERLANG_A = "erlang_a"
MODELS = (ERLANG_C, ERLANG_A)
_GAMMA_EPS = 1e-16
_GAMMA_MAX_TERMS = 1_000_000


def erlang_a(arrival_rate_per_s: float, aht_s: float, agents: int, answer_within_s: float,
             patience_s: float) -> tuple[float, float]:
    """(service level, abandonment rate) of an M/M/n+M queue (Erlang A; Garnett, Mandelbaum & Reiman 2002).

    Service level: the share of *all* arrivals answered within `answer_within_s` (a caller who hangs up first
    is not answered). Abandonment rate: the share of arrivals that hang up before an agent answers.

    With x = n·μ/θ and y = λ/θ (μ = 1/AHT, θ = 1/patience), a caller who finds k callers waiting ahead is
    answered within t with probability x/(x+k+1)·I_p(k+1, x+1), p = 1 − e^(−θt) (the (k+1)-th order statistic of
    x+k exponential lifetimes); summed over the stationary queue this is closed form in lower incomplete
    gamma functions:
        A = 1 + y·J(1),  P(wait) = A·B/(1 + (A − 1)·B)  (B: Erlang B with λ/μ erlangs on n agents),
        J(p) = e^y·y^−(x+1)·[γ(x+1, y) − γ(x+1, y·(1 − p))],
        service level = 1 − P(wait) + P(wait)·x·J(p)/A,  abandonment = P(wait)·(1 − x·J(1)/A).
    Everything is evaluated in log space, so large teams and overload do not overflow.
    """
    agents = operator.index(agents)
    if min(arrival_rate_per_s, aht_s, answer_within_s, agents) < 0 or patience_s <= 0:
        raise ValueError("rate, handle time, answer time and agents must not be negative; patience must be positive")
    traffic = arrival_rate_per_s * aht_s
    if traffic == 0:
        return 1.0, 0.0
    if agents == 0 or aht_s == 0 and agents == 0:
        return 0.0, 1.0
    theta = 1.0 / patience_s
    x = agents / aht_s / theta
    y = arrival_rate_per_s / theta
    log_gamma_all = _log_lower_gamma(x + 1.0, y)
    log_yj1 = y - x * math.log(y) + log_gamma_all            # log(y·J(1))
    log_a = _log_add(0.0, log_yj1)                            # log A
    blocking = erlang_b(traffic, agents)
    if blocking == 0.0:
        return 1.0, 0.0
    log_ab = log_a + math.log(blocking)
    waits = 1.0 / (math.exp(-log_ab) + 1.0 - math.exp(-log_a)) if log_ab > -700 else math.exp(log_ab)
    waits = min(1.0, max(0.0, waits))
    log_x_over = math.log(x) - math.log(y)                    # x·J/A = (x/y)·(y·J)/A
    served_share = math.exp(log_x_over + log_yj1 - log_a)     # x·J(1)/A: served, of those who wait
    answered_share = 0.0
    if answer_within_s > 0:
        log_gamma_late = _log_lower_gamma(x + 1.0, y * math.exp(-theta * answer_within_s))
        late = math.exp(log_gamma_late - log_gamma_all) if log_gamma_late > -math.inf else 0.0
        answered_share = served_share * max(0.0, 1.0 - late)
    level = 1.0 - waits + waits * answered_share
    abandonment = waits * max(0.0, 1.0 - served_share)
    return min(1.0, max(0.0, level)), min(1.0, max(0.0, abandonment))


def _log_add(a: float, b: float) -> float:
    high, low = max(a, b), min(a, b)
    return high + math.log1p(math.exp(low - high))


def _log_lower_gamma(a: float, z: float) -> float:
    """log γ(a, z) = log ∫₀^z t^(a−1)·e^(−t) dt (a > 0): its series below a + 1, else Γ(a) minus the upper
    function's continued fraction (Lentz), as in Numerical Recipes' gammp; O(√a) terms near z ≈ a."""
    if z <= 0.0:
        return -math.inf
    log_prefix = a * math.log(z) - z
    if z < a + 1.0:
        term = total = 1.0 / a
        denominator = a
        for _ in range(_GAMMA_MAX_TERMS):
            denominator += 1.0
            term *= z / denominator
            total += term
            if term < total * _GAMMA_EPS:
                break
        return log_prefix + math.log(total)
    tiny = 1e-300
    b = z + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    fraction = d
    for i in range(1, _GAMMA_MAX_TERMS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        fraction *= step
        if abs(step - 1.0) < _GAMMA_EPS:
            break
    log_upper_share = log_prefix + math.log(fraction) - math.lgamma(a)   # Γ(a, z)/Γ(a)
    return math.lgamma(a) + math.log1p(-math.exp(log_upper_share)) if log_upper_share < 0 else -math.inf


def predict(model: str, arrival_rate_per_s: float, aht_s: float, agents: int, answer_within_s: float,
            patience_s: float | None = None) -> tuple[float, float | None]:
    """(service level, abandonment rate or None) under the chosen model: Erlang C ignores abandonment."""
    if model == ERLANG_A:
        if patience_s is None:
            raise ValueError("Erlang A needs patience_seconds")
        return erlang_a(arrival_rate_per_s, aht_s, agents, answer_within_s, patience_s)
    if model != ERLANG_C:
        raise ValueError(f"unknown model {model!r}: {' or '.join(MODELS)}")
    return service_level(arrival_rate_per_s, aht_s, agents, answer_within_s), None
