"""Agents and the queue: state reports, the next thing to do (a due break first), ending a break."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wellbeing import agents as agent_state
from wellbeing.breaks import FINISHED_STATES, break_dict, cancel_break, end_break, open_break, start_break
from wellbeing.context import context_of
from wellbeing.models import Agent, Break, QueueItem
from wellbeing.queue import finish_item, queue_item_dict, take_work


class BreakConflict(Exception):
    """The break cannot do what was asked in its current state (e.g. ending one that has not started)."""


def _agent_dict(agent: Agent, brk: Break | None) -> dict:
    return {"agent_id": agent.id, "name": agent.name, "team": agent.team, "state": agent.state,
            "state_changed_at": agent.state_changed_at.isoformat() if agent.state_changed_at else None,
            "break": break_dict(brk) if brk is not None else None}


def report_state(session: Session, *, agent_id: str, state: str, now: datetime, reported_at: datetime | None = None,
                 name: str | None = None, team: str | None = None) -> dict:
    """An agent's reported state, with what it means for their break.

    available / wrap_up: the current interaction is over, so an "after_current" break may start (at once when
    the routing platform assigns work). available or busy during a break: the agent is back early (wrap_up
    then is ignored: a platform's late task-completion event). on_break: a granted break starts now.
    offline: a break not yet started is cancelled (the agent rests anyway), one running ends.
    `reported_at` is when the change happened (an event's occurred_at); a report older than the last one
    recorded is ignored, so events arriving out of order cannot undo a newer state.
    """
    at = min(reported_at or now, now)
    agent = agent_state.get_or_create(session, agent_id, name=name, team=team, at=at)
    if agent.state_changed_at is not None and at < agent.state_changed_at:
        return {**_agent_dict(agent, open_break(session, agent_id)), "ignored": "older than the state on record"}
    brk = open_break(session, agent_id)
    if state == "offline":
        if brk is not None and brk.state == "on_break":
            end_break(session, brk, agent, at=now, reason="agent went offline")
        elif brk is not None:
            cancel_break(session, brk, now=now, reason="agent went offline before it started")
        brk = None
    elif state == "on_break" and brk is not None and brk.state == "due":
        start_break(session, brk, agent, now)
        return _agent_dict(agent, brk)
    elif state == "wrap_up" and brk is not None and brk.state == "on_break":
        return {**_agent_dict(agent, brk), "ignored": "the agent is on a break"}
    elif brk is not None and brk.state == "on_break" and state in ("available", "busy"):
        end_break(session, brk, agent, at=now, reason=f"agent reported {state} during the break")
        brk = None
    elif state in FINISHED_STATES and brk is not None and brk.ready_at is None:
        brk.ready_at = now
    agent_state.set_state(session, agent, state, at)
    if (brk is not None and brk.state == "due" and brk.ready_at is not None
            and context_of(session).routing.assigns_work):
        start_break(session, brk, agent, now)
    session.flush()
    return _agent_dict(agent, brk)


def next_for_agent(session: Session, *, agent_id: str, now: datetime) -> dict | None:
    """A due break first (handed over and started), else the highest-priority item the agent may take."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        return None
    brk = open_break(session, agent_id)
    if brk is not None and brk.state == "due" and brk.ready_at is not None:
        start_break(session, brk, agent, now)
    if brk is not None and brk.state == "on_break":
        item = session.get(QueueItem, brk.queue_item_id) if brk.queue_item_id else None
        session.flush()
        return {"kind": "break", "break": break_dict(brk), "item": queue_item_dict(item) if item else None}
    item = take_work(session, agent=agent, now=now)
    if item is None:
        return {"kind": "none", "break": None, "item": None}
    if agent.state != "busy":
        agent_state.set_state(session, agent, "busy", now)
    session.flush()
    return {"kind": "work", "break": None, "item": queue_item_dict(item)}


def end_agent_break(session: Session, *, agent_id: str, break_id: str, now: datetime) -> dict | None:
    """The agent ends their break early (None: no such break of theirs; BreakConflict: it is not running)."""
    brk = session.get(Break, break_id)
    if brk is None or brk.agent_id != agent_id:
        return None
    if brk.state != "on_break":
        raise BreakConflict(f"break {break_id} is {brk.state.replace('_', ' ')}, not running")
    end_break(session, brk, session.get(Agent, agent_id), at=now, reason="ended by the agent")
    session.flush()
    return break_dict(brk)


def agent_breaks(session: Session, *, agent_id: str, limit: int = 100) -> list[dict]:
    """The agent's breaks, newest first."""
    rows = session.scalars(select(Break).where(Break.agent_id == agent_id)
                           .order_by(Break.requested_at.desc(), Break.id).limit(limit))
    return [break_dict(row) for row in rows]


def apply_platform_event(session: Session, *, event, now: datetime) -> dict:
    """What the routing platform reports: an agent's state (known agents only) or one of our tasks ending."""
    result: dict = {"agent": None, "item": None}
    if event.agent_id and event.state and session.get(Agent, event.agent_id) is not None:
        result["agent"] = report_state(session, agent_id=event.agent_id, state=event.state, now=now,
                                       reported_at=event.at)
    if event.item_id and event.item_state:
        finish_item(session, event.item_id, state=event.item_state, now=now)
        result["item"] = {"id": event.item_id, "state": event.item_state}
    session.flush()
    return result
