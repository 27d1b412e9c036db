"""What managers read about breaks: the decision log and per-agent figures over a window."""
from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from wellbeing import load
from wellbeing.agents import SERIES_LEAD
from wellbeing.breaks import decision_dict
from wellbeing.context import context_of
from wellbeing.load import STATE, AgentLoad, LoadWeights
from wellbeing.models import Agent, Break, BreakDecisionRecord, LoadEvent
from wellbeing.planner import DEFERRED, ESCALATED, GRANTED, REFUSED

STAT_KEYS = (GRANTED, DEFERRED, ESCALATED, REFUSED, "minutes_on_break", "minutes_above_threshold")


def break_decisions(session: Session, *, team: str | None = None, agent_id: str | None = None,
                    since: datetime | None = None, limit: int = 100) -> list[dict]:
    """Planner decisions with their reasons, newest first."""
    stmt = select(BreakDecisionRecord)
    if team is not None:
        stmt = stmt.where(BreakDecisionRecord.team == team)
    if agent_id is not None:
        stmt = stmt.where(BreakDecisionRecord.agent_id == agent_id)
    if since is not None:
        stmt = stmt.where(BreakDecisionRecord.decided_at >= since)
    stmt = stmt.order_by(BreakDecisionRecord.decided_at.desc(), BreakDecisionRecord.id.desc()).limit(limit)
    return [decision_dict(row) for row in session.scalars(stmt)]


def break_stats(session: Session, *, start: datetime, end: datetime, team: str | None = None) -> dict:
    """Per agent: breaks requested in the window by final outcome ("deferred" counts those deferred at least
    once), minutes spent on a break and minutes above the load threshold within the window; and the totals."""
    agents = _agents(session, team)
    per_agent = {agent_id: dict.fromkeys(STAT_KEYS, 0) for agent_id in agents}
    requested = select(Break.agent_id, Break.outcome, Break.was_deferred).where(
        Break.requested_at >= start, Break.requested_at < end)
    for agent_id, outcome, was_deferred in session.execute(_in_team(requested, Break.team, team)):
        row = per_agent.setdefault(agent_id, dict.fromkeys(STAT_KEYS, 0))
        if outcome != DEFERRED:
            row[outcome] += 1
        row[DEFERRED] += 1 if was_deferred else 0
    rested = select(Break.agent_id, Break.started_at, func.coalesce(Break.ended_at, Break.ends_at)).where(
        Break.started_at.is_not(None), Break.started_at < end,
        or_(Break.ended_at > start, Break.ended_at.is_(None)))
    for agent_id, began, finished in session.execute(_in_team(rested, Break.team, team)):
        overlap = (min(finished, end) - max(began, start)).total_seconds() / 60.0
        row = per_agent.setdefault(agent_id, dict.fromkeys(STAT_KEYS, 0))
        row["minutes_on_break"] += max(0.0, overlap)
    weights = context_of(session).config.weights
    for agent_id, events in _load_events(session, list(agents), start=start, end=end).items():
        per_agent[agent_id]["minutes_above_threshold"] = _minutes_above_threshold(
            events, threshold=agents[agent_id], start=start, end=end, weights=weights)
    for row in per_agent.values():
        row["minutes_on_break"] = round(row["minutes_on_break"], 1)
        row["minutes_above_threshold"] = round(row["minutes_above_threshold"], 1)
    totals = {key: round(sum(row[key] for row in per_agent.values()), 1) if key.startswith("minutes")
              else sum(row[key] for row in per_agent.values()) for key in STAT_KEYS}
    return {"per_agent": per_agent, "totals": totals}


def _in_team(stmt, column, team: str | None):
    return stmt if team is None else stmt.where(column == team)


def _agents(session: Session, team: str | None) -> dict[str, float]:
    return dict(session.execute(_in_team(select(Agent.id, Agent.load_threshold), Agent.team, team)
                                .order_by(Agent.id)).all())


def _load_events(session: Session, agent_ids: list[str], *, start: datetime, end: datetime) -> dict[str, list]:
    """Every load event of these agents from a little before the window to its end, per agent, in order."""
    found: dict[str, list] = {}
    if not agent_ids:
        return found
    rows = session.execute(select(LoadEvent.agent_id, LoadEvent.at, LoadEvent.kind, LoadEvent.weight, LoadEvent.note)
                           .where(LoadEvent.agent_id.in_(agent_ids), LoadEvent.at > start - SERIES_LEAD,
                                  LoadEvent.at < end).order_by(LoadEvent.agent_id, LoadEvent.at, LoadEvent.id))
    for agent_id, *event in rows:
        found.setdefault(agent_id, []).append(tuple(event))
    return found


def _minutes_above_threshold(events: list, *, threshold: float, start: datetime, end: datetime,
                             weights: LoadWeights) -> float:
    """Replay an agent's load events; between events the load only decays, so time above is exact."""
    current, total = AgentLoad(0.0, events[0][0]), 0.0
    for at, kind, weight, note in events:
        total += _above(current, max(current.as_of, start), min(at, end), threshold, weights)
        current = (load.set_state(current, note, at, weights) if kind == STATE
                   else load.add(current, weight, at, weights))
    return total + _above(current, max(current.as_of, start), end, threshold, weights)


def _above(current: AgentLoad, begin: datetime, finish: datetime, threshold: float, weights: LoadWeights) -> float:
    if finish <= begin:
        return 0.0
    value = load.decay(current, begin, weights).value
    if value <= threshold:
        return 0.0
    to_threshold = weights.half_life_minutes(current.state) * math.log2(value / threshold)
    return min(to_threshold, (finish - begin).total_seconds() / 60.0)
