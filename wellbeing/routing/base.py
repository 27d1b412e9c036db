"""What every routing adapter shares: the task it is handed, the Protocol it implements, the error it raises."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

BREAK = "break"
AVAILABLE = "available"
ACTIVITIES = (BREAK, AVAILABLE)


@dataclass(frozen=True)
class TaskRequest:
    """A queue item as the routing platform is told about it (also the outbox payload)."""

    item_id: str
    kind: str
    title: str
    priority: int
    team: str | None = None
    case_id: str | None = None
    preferred_agent_id: str | None = None
    routing_reason: str | None = None
    details: dict = field(default_factory=dict)

    def as_payload(self) -> dict:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict) -> TaskRequest:
        return cls(**payload)


class RoutingError(Exception):
    """The platform did not take the command; `permanent` means retrying cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


@runtime_checkable
class RoutingAdapter(Protocol):
    """A routing platform. `assigns_work`: the platform hands out work itself, so a break that may start
    starts at once (its activity is set); otherwise agents pull work, breaks first, with GET /agents/<id>/next."""

    name: str
    assigns_work: bool

    def create_task(self, task: TaskRequest) -> str | None:
        """Create the platform's task for a queue item; returns its id there, if it has one."""

    def close_task(self, external_id: str, *, reason: str) -> None:
        """The item was handled or withdrawn on our side."""

    def set_activity(self, agent_id: str, activity: str) -> None:
        """Put the agent on a break (`BREAK`) or back to work (`AVAILABLE`)."""
