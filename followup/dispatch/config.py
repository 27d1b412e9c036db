"""What the dispatcher is told (batch, lease, retries) and what one tick reports."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DispatchConfig:
    batch_size: int = 500
    lease_seconds: int = 120
    max_attempts: int = 5
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    reconcile_grace_seconds: float = 600.0
    max_rate_wait_seconds: float = 1.0
    # Marked "send started" together: after a SIGKILL at most this many are in doubt (reconciled, never resent blind).
    chunk_size: int = 200
    # A tick keeps claiming while full batches come back, for at most this long (a backlog drains at full speed).
    drain_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings) -> "DispatchConfig":
        s = settings.scheduler
        return cls(batch_size=s.batch_size, lease_seconds=s.lease_seconds, max_attempts=s.max_attempts,
                   backoff_base_seconds=s.backoff_base_seconds, backoff_cap_seconds=s.backoff_cap_seconds,
                   reconcile_grace_seconds=s.reconcile_grace_seconds)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    reconciled: int = 0
    deferred: int = 0
    lost: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "DispatchReport") -> None:
        for name in ("claimed", "sent", "retried", "failed", "cancelled", "reconciled", "deferred", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)
