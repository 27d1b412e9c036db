""""That one rattled me": an agent says an interaction got to them (a softphone or agent desktop button).

The report adds `weights.agent_reported` to the agent's load (a load event like any other, so charts and
reports see it), runs the team's rules with `agent_reported` true (a team can grant a break on it) and stays on
the team load page as a prompt for a manager, with the agent's note, until a manager marks it seen.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.core.ids import new_id
from wellbeing import agents as agent_state
from wellbeing import load
from wellbeing.breaks import plan_for_situation
from wellbeing.context import context_of
from wellbeing.load import AGENT_REPORTED, INTERACTION
from wellbeing.models import Agent, AgentReport, LoadEvent
from wellbeing.rules import AgentSituation

MAX_NOTE_CHARS = 1000


def report_dict(row: AgentReport, *, name: str | None = None) -> dict:
    return {"id": row.id, "agent_id": row.agent_id, "name": name, "team": row.team, "at": row.at.isoformat(),
            "note": row.note, "interaction_id": row.interaction_id, "added": round(row.weight, 3),
            "load_after": round(row.load_after, 3), "break_id": row.break_id,
            "seen_at": row.seen_at.isoformat() if row.seen_at else None, "seen_by": row.seen_by}


def report_rattled(session: Session, *, agent_id: str, note: str | None, reported_by: str,
                   now: datetime) -> dict | None:
    """Record the report, add its load, run the rules with `agent_reported`; None for an agent never seen.

    A report counts once per interaction: reporting the same (latest) interaction again — a double tap, a retry —
    adds nothing and answers the first report with `duplicate: true`.
    """
    # The agent's row stays locked until the caller commits: a double tap's second request waits for the first
    # and then finds its report (without it, both found none on PostgreSQL and the load was added twice).
    agent = session.get(Agent, agent_id, with_for_update=True)
    if agent is None:
        return None
    weights = context_of(session).config.weights
    interaction_id = session.scalars(select(LoadEvent.interaction_id).where(
        LoadEvent.agent_id == agent_id, LoadEvent.kind == INTERACTION).order_by(LoadEvent.id.desc()).limit(1)).first()
    if interaction_id is not None:
        earlier = session.scalars(select(AgentReport).where(AgentReport.agent_id == agent_id,
                                                            AgentReport.interaction_id == interaction_id)
                                  .order_by(AgentReport.at).limit(1)).first()
        if earlier is not None:
            return {**report_dict(earlier, name=agent.name), "duplicate": True, "break": None,
                    "load": round(agent_state.current_load(agent, now, weights), 3), "threshold": agent.load_threshold}
    weight = weights.agent_reported
    after = load.add(agent_state.load_of(agent), weight, now, weights)
    agent.load_value, agent.load_as_of = after.value, after.as_of
    session.add(LoadEvent(agent_id=agent_id, team=agent.team, at=now, kind=AGENT_REPORTED, weight=weight,
                          parts={"agent_reported": weight}, interaction_id=interaction_id))
    text = (note or "").strip() or None
    row = AgentReport(id=new_id("rat"), agent_id=agent_id, team=agent.team, at=now, note=text,
                      interaction_id=interaction_id, weight=weight, load_after=after.value, reported_by=reported_by)
    session.add(row)
    session.flush()
    signals = agent_state.interaction_signals(session, agent_id=agent_id, interaction_id=interaction_id)
    situation = AgentSituation.after(signals, load=after.value, consecutive_negative=agent.consecutive_negative or 0,
                                     agent_reported=True)
    decision = plan_for_situation(session, agent=agent, situation=situation, now=now)
    row.break_id = decision["break_id"] if decision else None
    session.flush()
    return {**report_dict(row, name=agent.name), "load": round(after.value, 3), "duplicate": False,
            "threshold": agent.load_threshold, "break": decision}


def rattled_prompts(session: Session, *, team: str | None, limit: int = 50) -> list[dict]:
    """Reports no manager has seen yet, newest first (every team's when `team` is None)."""
    stmt = select(AgentReport, Agent.name).join(Agent, Agent.id == AgentReport.agent_id, isouter=True).where(
        AgentReport.seen_at.is_(None))
    if team is not None:
        stmt = stmt.where(AgentReport.team == team)
    rows = session.execute(stmt.order_by(AgentReport.at.desc(), AgentReport.id.desc()).limit(limit)).all()
    return [report_dict(row, name=name) for row, name in rows]


def mark_rattled_seen(session: Session, *, agent_id: str, report_id: str, seen_by: str, now: datetime) -> dict | None:
    """A manager has seen the report (and, one hopes, talked to the agent); seeing it twice keeps the first."""
    row = session.get(AgentReport, report_id)
    if row is None or row.agent_id != agent_id:
        return None
    if row.seen_at is None:
        row.seen_at, row.seen_by = now, seen_by
        session.flush()
    return report_dict(row, name=(session.get(Agent, agent_id) or Agent()).name)


def agent_reports(session: Session, *, agent_id: str, since: datetime | None = None, limit: int = 100) -> list[dict]:
    """One agent's reports, seen or not, newest first (for their timeline)."""
    stmt = select(AgentReport).where(AgentReport.agent_id == agent_id)
    if since is not None:
        stmt = stmt.where(AgentReport.at >= since)
    rows = session.scalars(stmt.order_by(AgentReport.at.desc(), AgentReport.id.desc()).limit(limit))
    return [report_dict(row) for row in rows]


def purge_report_notes(session: Session, *, cutoff: datetime, dry_run: bool = False) -> int:
    """Blank the notes of reports made before `cutoff` (free text that may name a customer); the report, its
    time and its load stay. The number of notes blanked (or, in a dry run, to blank)."""
    rows = list(session.scalars(select(AgentReport).where(AgentReport.at < cutoff, AgentReport.note.is_not(None))))
    if not dry_run:
        for row in rows:
            row.note = None
        session.flush()
    return len(rows)
