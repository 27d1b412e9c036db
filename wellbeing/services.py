"""wellbeing's public interface: the routing queue, agent availability and the load each interaction adds.

`followup` and the shell's CRM intake call only these functions; they never touch wellbeing's tables.
Functions here flush but do not commit: the caller's use case owns the transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.db import new_id
from wellbeing.models import Agent, LoadEvent, QueueItem

PRIORITY_HIGH = 90
PRIORITY_NORMAL = 50


@dataclass(frozen=True)
class InteractionLoadInput:
    """What the load model needs to know about one handled interaction."""

    interaction_id: str
    at: datetime
    sentiment: float | None = None
    signals: tuple[str, ...] = ()
    escalated_from_bot: bool = False
    resolution: str = "unknown"
    duration_seconds: float | None = None
    category: str | None = None


@dataclass(frozen=True)
class Routing:
    """Where a queued item went and why (recorded on the case)."""

    item_id: str
    agent_id: str | None
    team: str | None
    reason: str

    def as_dict(self) -> dict:
        return {"queue_item": self.item_id, "agent_id": self.agent_id, "team": self.team, "reason": self.reason}


def _agent(session: Session, agent_id: str, *, name: str | None = None, team: str | None = None,
           at: datetime | None = None) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        agent = Agent(id=agent_id, name=name, team=team, state="available", load_value=0.0, load_as_of=at,
                      consecutive_negative=0)
        session.add(agent)
    else:
        agent.name = name or agent.name
        agent.team = team or agent.team
    return agent


def agent_unavailable_reason(session: Session, agent_id: str, now: datetime) -> str | None:
    """Why this agent should not get more work now (on a break, offline, over load threshold), or None."""
    from wellbeing import load

    agent = session.get(Agent, agent_id)
    if agent is None:
        return None
    if agent.state in ("on_break", "offline"):
        return f"agent {agent_id} is {agent.state.replace('_', ' ')}"
    current = load.decay(load.AgentLoad(agent.load_value, agent.load_as_of, _load_state(agent)), now,
                         load.DEFAULT_WEIGHTS).value
    if current >= agent.load_threshold:
        return f"agent {agent_id} is over their load threshold ({current:.1f} ≥ {agent.load_threshold:.1f})"
    return None


def _load_state(agent: Agent) -> str:
    return "on_break" if agent.state == "on_break" else "working"


def record_interaction(session: Session, *, agent_id: str, agent_name: str | None, team: str | None,
                       interaction: InteractionLoadInput) -> dict:
    """Add one interaction's emotional weight to its agent's load (O(1): decay, then add)."""
    from wellbeing import load

    agent = _agent(session, agent_id, name=agent_name, team=team, at=interaction.at)
    weights = load.DEFAULT_WEIGHTS
    breakdown = load.interaction_weight(load.InteractionSignals(
        sentiment=interaction.sentiment, signals=tuple(interaction.signals),
        escalated_from_bot=interaction.escalated_from_bot, resolution=interaction.resolution,
        duration_seconds=interaction.duration_seconds, category=interaction.category), weights)
    before = load.AgentLoad(agent.load_value or 0.0, agent.load_as_of or interaction.at, _load_state(agent))
    after = load.add(before, breakdown.total, interaction.at, weights)
    agent.load_value, agent.load_as_of = after.value, after.as_of
    rough = (interaction.sentiment is not None and interaction.sentiment < -0.3) or bool(interaction.signals) \
        or interaction.resolution == "unresolved"
    agent.consecutive_negative = (agent.consecutive_negative or 0) + 1 if rough else 0
    session.add(LoadEvent(agent_id=agent_id, at=interaction.at, kind="interaction", weight=breakdown.total,
                          parts=dict(breakdown.parts), interaction_id=interaction.interaction_id))
    session.flush()
    return {"agent_id": agent_id, "load": round(after.value, 3), "added": round(breakdown.total, 3),
            "parts": {k: round(v, 3) for k, v in breakdown.parts.items()}, "threshold": agent.load_threshold,
            "consecutive_negative": agent.consecutive_negative}


def enqueue_case_item(session: Session, *, case_id: str | None, kind: str, title: str, team: str | None,
                      preferred_agent_id: str | None, now: datetime, priority: int = PRIORITY_HIGH,
                      details: dict | None = None) -> Routing:
    """Put work for a person in the queue: the preferred agent when they can take it, else their team."""
    reason = "preferred agent available"
    target = preferred_agent_id
    if preferred_agent_id:
        unavailable = agent_unavailable_reason(session, preferred_agent_id, now)
        if unavailable:
            target, reason = None, f"{unavailable}: routed to team {team or 'any'}"
    else:
        reason = f"no preferred agent: routed to team {team or 'any'}"
    item = QueueItem(id=new_id("qi"), kind=kind, state="queued", priority=priority, case_id=case_id, team=team,
                     preferred_agent_id=target, title=title, routing_reason=reason, details=details or {},
                     available_at=now, created_at=now)
    session.add(item)
    session.flush()
    return Routing(item_id=item.id, agent_id=target, team=team, reason=reason)


def close_case_items(session: Session, *, case_id: str, now: datetime) -> int:
    """The case was handled: its open queue items are done."""
    items = session.scalars(select(QueueItem).where(QueueItem.case_id == case_id,
                                                    QueueItem.state.in_(("queued", "assigned")))).all()
    for item in items:
        item.state, item.updated_at = "done", now
    session.flush()
    return len(items)


def queue_items(session: Session, *, state: str | None = "queued", team: str | None = None,
                case_id: str | None = None, limit: int = 200) -> list[dict]:
    """The builtin queue, highest priority first, oldest first within a priority."""
    stmt = select(QueueItem)
    if state:
        stmt = stmt.where(QueueItem.state == state)
    if team:
        stmt = stmt.where(QueueItem.team == team)
    if case_id:
        stmt = stmt.where(QueueItem.case_id == case_id)
    stmt = stmt.order_by(QueueItem.priority.desc(), QueueItem.created_at.asc()).limit(limit)
    return [queue_item_dict(item) for item in session.scalars(stmt)]


def queue_item_dict(item: QueueItem) -> dict:
    return {"id": item.id, "kind": item.kind, "state": item.state, "priority": item.priority,
            "case_id": item.case_id, "team": item.team, "preferred_agent_id": item.preferred_agent_id,
            "title": item.title, "routing_reason": item.routing_reason, "details": item.details,
            "created_at": item.created_at.isoformat(), "available_at": item.available_at.isoformat()}
