"""Retry timing shared by every outbound call (providers, CRM, routing platform) and by the workers waiting out a
database outage."""
from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable


def backoff_delay(attempt: int, *, base: float, cap: float, retry_after: float | None = None,
                  rng: Callable[[], float] = random.random) -> float:
    """Attempt n waits up to base·2^(n−1), capped; the lower half fixed, the upper half jitter so that many
    failures at once do not retry in lockstep. A server's Retry-After is a floor."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return max(ceiling / 2 + rng() * ceiling / 2, retry_after or 0.0)


def retry_delay(*, attempts: int, max_attempts: int, permanent: bool, base: float, cap: float,
                retry_after: float | None = None, rng: Callable[[], float] = random.random) -> float | None:
    """Seconds until the next attempt, or None when it is time to give up (a permanent error, or out of tries)."""
    if permanent or attempts >= max_attempts:
        return None
    return backoff_delay(attempts, base=base, cap=cap, retry_after=retry_after, rng=rng)


def give_up_reason(reason: str, *, permanent: bool, attempts: int) -> str:
    """What is stored when we stop: a permanent error speaks for itself; exhausted retries say how many."""
    return reason if permanent else f"{reason} (after {attempts} attempts)"


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None


class OutageBackoff:
    """How long a worker leaves the database alone once it is unreachable: each failed try doubles the wait
    (`backoff_delay`: from `base`, jittered so that every worker does not knock at once, at most `cap`); the first
    try that gets through resets it. Retrying never stops: a worker rides out an outage of any length."""

    def __init__(self, *, base: float, cap: float, clock: Callable[[], float] = time.monotonic,
                 rng: Callable[[], float] = random.random) -> None:
        self.base, self.cap, self.clock, self.rng = base, cap, clock, rng
        self.failures = 0
        self.next_try = 0.0

    def waiting(self) -> bool:
        return self.clock() < self.next_try

    def failed(self) -> float:
        """Count a failed try; returns the wait before the next one."""
        self.failures += 1
        delay = backoff_delay(self.failures, base=self.base, cap=self.cap, rng=self.rng)
        self.next_try = self.clock() + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.next_try = 0, 0.0
