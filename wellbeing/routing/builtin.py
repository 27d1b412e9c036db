"""The builtin queue: our own `queue_items` table is the routing platform, so there is nobody else to tell."""
from __future__ import annotations

from wellbeing.routing.base import TaskRequest


class BuiltinRouting:
    name = "builtin"
    assigns_work = False

    @classmethod
    def from_config(cls, settings) -> BuiltinRouting:
        return cls()

    def create_task(self, task: TaskRequest) -> str | None:
        return None

    def close_task(self, external_id: str, *, reason: str) -> None:
        return None

    def set_activity(self, agent_id: str, activity: str) -> None:
        return None
