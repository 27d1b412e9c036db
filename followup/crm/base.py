"""What every CRM adapter shares: the reopen notice it is given, the Protocol it implements, the error it raises."""
from __future__ import annotations

import html
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
    desk_ref: str = ""  # the desk's own ticket/conversation id, for a case a native connector brought in

    @property
    def native_id(self) -> str:
        """The id the desk knows the case by: its own for connector cases, else our case id (what a trigger sent)."""
        return self.desk_ref or self.case_id

    def as_payload(self) -> dict:
        """The JSON body a webhook receiver gets (and what the outbox row keeps)."""
        ref = {"desk_ref": self.desk_ref} if self.desk_ref else {}
        return {"type": "case.reopened", "delivery_id": self.delivery_id, "case_id": self.case_id, **ref,
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
                   delivery_id=payload.get("delivery_id", ""), desk_ref=payload.get("desk_ref", ""))

    @property
    def routed_to(self) -> str:
        return f"agent {self.routed_agent_id}" if self.routed_agent_id else f"team {self.routed_team or 'any'}"


def internal_note(notice: ReopenNotice) -> str:
    """What the agent reads on the ticket, in every desk: the reply in the customer's words, then why we reopened."""
    reasons = "\n".join(f"- {reason}" for reason in notice.reasons) or "- (none given)"
    quoted = "\n".join(f"> {line}" for line in notice.reply_text.splitlines() or [""])
    return (f"Aftercare reopened this ticket: the customer's reply to the follow-up needs a person.\n\n"
            f"Customer reply:\n{quoted}\n\n"
            f"Verdict: {notice.intent} (confidence {notice.confidence:.2f})\n"
            f"Reasons:\n{reasons}\n\n"
            f"Routed to {notice.routed_to}: {notice.routing_reason}")


def html_note(notice: ReopenNotice) -> str:
    """The same note for desks whose notes are HTML (Freshdesk, Intercom): escaped, one paragraph per line."""
    return "".join(f"<p>{html.escape(line)}</p>" if line else "<br>" for line in internal_note(notice).splitlines())


def desk_agent_id(agent_id: str | None, desk: str) -> str | None:
    """The desk's own id of an agent a connector named `<desk>:<id>` (None for agents from elsewhere)."""
    prefix = f"{desk}:"
    return agent_id[len(prefix):] if agent_id and agent_id.startswith(prefix) else None


def require_settings(desk: str, section, *names: str) -> None:
    """A reopen adapter with missing credentials refuses to start (crm.adapter) or dead-letters (connector cases)."""
    missing = [f"{desk}.{name}" for name in names if not getattr(section, name)]
    if missing:
        raise ValueError(f"reopening in {desk.title()} needs {', '.join(missing)}")


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
