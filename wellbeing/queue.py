"""The routing queue: work for people (reopened cases, human tasks, reminders) and agents' breaks.

Our `queue_items` table is always kept, whichever routing adapter is configured, so the API and dashboard see
one queue; the adapter is told about each item through the routing outbox.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from aftercare.core.ids import new_id
from wellbeing.agents import agent_unavailable_reason
from wellbeing.context import context_of
from wellbeing.models import Agent, QueueItem
from wellbeing.routing import outbox
from wellbeing.routing.base import TaskRequest

PRIORITY_BREAK = 100
PRIORITY_HIGH = 90
PRIORITY_NORMAL = 50
NOT_PULLED = ("break", "escalation")


@dataclass(frozen=True)
class Routing:
    """Where a queued item went and why (recorded on the case)."""

    item_id: str
    agent_id: str | None
    team: str | None
    reason: str

    def as_dict(self) -> dict:
        return {"queue_item": self.item_id, "agent_id": self.agent_id, "team": self.team, "reason": self.reason}


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
                     available_at=now, created_at=now, updated_at=now)
    session.add(item)
    outbox.task_created(session, adapter=context_of(session).routing.name, now=now, task=TaskRequest(
        item_id=item.id, kind=kind, title=title, priority=priority, team=team, case_id=case_id,
        preferred_agent_id=target, routing_reason=reason, details=details or {}))
    session.flush()
    return Routing(item_id=item.id, agent_id=target, team=team, reason=reason)


def enqueue_break_item(session: Session, *, agent: Agent, break_id: str, minutes: int, start: str, rule: str,
                       reasons: list[str], now: datetime) -> QueueItem:
    """A break is an item for one agent only; routing platforms get it as an activity change, not a task."""
    when = "after the current interaction" if start == "after_current" else "now"
    item = QueueItem(id=new_id("qi"), kind="break", state="queued", priority=PRIORITY_BREAK, team=agent.team,
                     preferred_agent_id=agent.id, title=f"{minutes} min break {when} ({rule})",
                     routing_reason="recovery break for this agent",
                     details={"break_id": break_id, "minutes": minutes, "start": start, "reasons": reasons},
                     available_at=now, created_at=now, updated_at=now)
    session.add(item)
    return item


def finish_item(session: Session, item_id: str | None, *, state: str, now: datetime) -> None:
    item = session.get(QueueItem, item_id) if item_id else None
    if item is not None and item.state in ("queued", "assigned"):
        item.state, item.updated_at = state, now


def close_case_items(session: Session, *, case_id: str, now: datetime) -> int:
    """The case was handled: its open queue items are done (and their platform tasks closed)."""
    items = session.scalars(select(QueueItem).where(QueueItem.case_id == case_id,
                                                    QueueItem.state.in_(("queued", "assigned")))).all()
    adapter = context_of(session).routing.name
    for item in items:
        item.state, item.updated_at = "done", now
        outbox.task_closed(session, adapter=adapter, item_id=item.id, reason="case handled", now=now)
    session.flush()
    return len(items)


def take_work(session: Session, *, agent: Agent, now: datetime) -> QueueItem | None:
    """Assign the highest-priority queued item this agent may take: theirs, or their team's with no one preferred.

    Breaks are handed out separately; escalations wait for a team lead in the queue view.
    """
    team_match = QueueItem.team == agent.team if agent.team else QueueItem.team.is_(None)
    item = session.scalars(select(QueueItem).where(
        QueueItem.state == "queued", QueueItem.kind.not_in(NOT_PULLED), QueueItem.available_at <= now,
        or_(QueueItem.preferred_agent_id == agent.id, and_(QueueItem.preferred_agent_id.is_(None), team_match)))
        .order_by(QueueItem.priority.desc(), QueueItem.created_at.asc(), QueueItem.id)
        .limit(1).with_for_update(skip_locked=True)).first()
    if item is not None:
        item.state, item.assigned_agent_id, item.updated_at = "assigned", agent.id, now
    return item


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
            "assigned_agent_id": item.assigned_agent_id, "title": item.title,
            "routing_reason": item.routing_reason, "details": item.details, "external_id": item.external_id,
            "created_at": item.created_at.isoformat(), "available_at": item.available_at.isoformat()}


def redact_case_items(session: Session, *, case_ids: list[str], names: dict[str, str], redacted: str,
                      dry_run: bool) -> list[tuple[str, str]]:
    """Retention (followup's): queue items of these cases lose the customer's name from their title and the reply
    from their details. Returns (item id, case id) of the items that had something to lose."""
    changed = []
    for item in session.scalars(select(QueueItem).where(QueueItem.case_id.in_(case_ids))):
        name = names.get(item.case_id)
        title = item.title.replace(name, redacted) if name else item.title
        details = {k: v for k, v in (item.details or {}).items() if k != "reply"}
        if title != item.title or details != (item.details or {}):
            changed.append((item.id, item.case_id))
            if not dry_run:
                item.title, item.details = title, details
    return changed
