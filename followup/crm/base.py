"""What every CRM adapter shares: the reopen notice it is given, the Protocol it implements, the error it raises."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ReopenNotice:
    """A reopened case as the CRM is told about it; stored as the outbox payload so no notice is lost."""

    case_id: str
    reply_text: str
    intent: str
    confidence: float
    reasons: tuple[str, ...]
    routed_agent_id: str | None
    routed_team: str | None
    routing_reason: str
    reopened_at: datetime
    delivery_id: str = ""

    def as_payload(self) -> dict:
        """The JSON body a webhook receiver gets (and what the outbox row keeps)."""
        return {"type": "case.reopened", "delivery_id": self.delivery_id, "case_id": self.case_id,
                "reopened_at": self.reopened_at.isoformat().replace("+00:00", "Z"),
                "reply": {"text": self.reply_text},
                "verdict": {"intent": self.intent, "confidence": self.confidence, "reasons": list(self.reasons)},
                "routed_to": {"agent_id": self.routed_agent_id, "team": self.routed_team,
                              "reason": self.routing_reason}}

    @classmethod
    def from_payload(cls, payload: dict) -> "ReopenNotice":
        verdict, routed = payload["verdict"], payload["routed_to"]
        return cls(case_id=payload["case_id"], reply_text=payload["reply"]["text"], intent=verdict["intent"],
                   confidence=verdict["confidence"], reasons=tuple(verdict["reasons"]),
                   routed_agent_id=routed["agent_id"], routed_team=routed["team"], routing_reason=routed["reason"],
                   reopened_at=datetime.fromisoformat(payload["reopened_at"].replace("Z", "+00:00")),
                   delivery_id=payload.get("delivery_id", ""))

    @property
    def routed_to(self) -> str:
        return f"agent {self.routed_agent_id}" if self.routed_agent_id else f"team {self.routed_team or 'any'}"


class CrmDeliveryError(Exception):
    """The CRM did not take the notice; `permanent` means retrying cannot help (dead-letter it now)."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.permanent, self.retry_after = reason, permanent, retry_after


@runtime_checkable
class CrmAdapter(Protocol):
    name: str

    def case_reopened(self, notice: ReopenNotice) -> None:
        """Tell the CRM; raise CrmDeliveryError on failure so the outbox can retry or dead-letter."""
