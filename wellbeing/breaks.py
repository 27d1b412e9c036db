"""Breaks from request to end: the planner's decisions stored with their reasons, the break handed over, ended.

A rule match becomes a `Break`. The planner grants, defers, escalates or refuses it (`planner.decide`, reading
counts from our tables); a deferred break is decided again when its `retry_at` comes (by the tick) until it is
granted, or escalated once it has waited `max_deferral_minutes` — never dropped. A granted break is due; with
start "after_current" it may start once the agent reports they finished their interaction (available or
wrap_up, reported after the request). Then the routing adapter decides who starts it: a platform that assigns
work (TaskRouter) starts it at once; with the builtin queue the agent's next `GET /agents/<id>/next` does.
"""
from __future__ import annotations

import zlib
from datetime import datetime, time, timedelta, timezone
from time import time_ns
from uuid import uuid4

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from aftercare.core.ids import new_id
from wellbeing import agents as agent_state
from wellbeing.context import context_of
from wellbeing.models import OPEN_BREAK_STATES, Agent, Break, BreakDecisionRecord, LoadEvent, QueueItem
from wellbeing.planner import DEFERRED, ESCALATED, BreakDecision, BreakRequest, TeamSnapshot, decide
from wellbeing.queue import PRIORITY_NORMAL, enqueue_break_item, enqueue_case_item, finish_item
from wellbeing.routing import outbox
from wellbeing.routing.base import AVAILABLE, BREAK
from wellbeing.load import InteractionSignals
from wellbeing.rules import START_NOW, AgentSituation, Guards, RuleMatch, RuleSet, evaluate
from wellbeing.rulesets import active_rules

FINISHED_STATES = ("available", "wrap_up")
DEFAULT_AHT_S = 300.0


def _ordered_id(prefix: str) -> str:
    """Ids that sort by creation, so requests made in the same instant are retried first come, first served."""
    return f"{prefix}_{time_ns():016x}{uuid4().hex[:12]}"


def break_dict(brk: Break) -> dict:
    return {"id": brk.id, "agent_id": brk.agent_id, "team": brk.team, "rule": brk.rule, "minutes": brk.minutes,
            "start": brk.start, "state": brk.state, "outcome": brk.outcome, "requested_at": _iso(brk.requested_at),
            "retry_at": _iso(brk.retry_at), "granted_at": _iso(brk.granted_at), "ready_at": _iso(brk.ready_at),
            "started_at": _iso(brk.started_at), "ends_at": _iso(brk.ends_at), "ended_at": _iso(brk.ended_at),
            "end_reason": brk.end_reason, "queue_item_id": brk.queue_item_id}


def decision_dict(row: BreakDecisionRecord) -> dict:
    return {"id": row.id, "break_id": row.break_id, "agent_id": row.agent_id, "team": row.team, "rule": row.rule,
            "outcome": row.outcome, "minutes": row.minutes, "start": row.start, "starts_at": _iso(row.starts_at),
            "retry_at": _iso(row.retry_at), "reasons": list(row.reasons), "escalate_to": row.escalate_to,
            "rule_set_version": row.rule_set_version, "decided_at": row.decided_at.isoformat(),
            "guard": row.guard}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def open_break(session: Session, agent_id: str) -> Break | None:
    """The agent's break that is not over yet (each agent holds at most one)."""
    return session.scalars(select(Break).where(Break.agent_id == agent_id, Break.state.in_(OPEN_BREAK_STATES))
                           .order_by(Break.requested_at.desc()).limit(1)).first()


def plan_break(session: Session, *, agent_id: str, now: datetime, interaction_id: str | None = None) -> dict | None:
    """After an interaction: the team's rules on the agent's situation, then the planner; the decision or None."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        return None
    signals = agent_state.interaction_signals(session, agent_id=agent_id, interaction_id=interaction_id)
    load = agent_state.current_load(agent, now, context_of(session).config.weights)
    situation = AgentSituation.after(signals, load=load, consecutive_negative=agent.consecutive_negative or 0)
    return plan_for_situation(session, agent=agent, situation=situation, now=now)


def plan_for_situation(session: Session, *, agent: Agent, situation: AgentSituation, now: datetime) -> dict | None:
    """The team's rules on a situation already worked out (e.g. the agent said a call rattled them), then the
    planner; the decision, or None when the agent holds an open break or no rule matched."""
    _lock_team(session, agent.team)
    if open_break(session, agent.id) is not None:
        return None
    rule_set, version = active_rules(session, agent.team)
    match = evaluate(rule_set, situation)
    if match is None:
        return None
    brk = Break(id=_ordered_id("brk"), agent_id=agent.id, team=agent.team, rule=match.rule.name,
                rule_set_version=version.version if version else None, minutes=match.break_minutes,
                start=match.start, request_reasons=list(match.reasons), state=DEFERRED, outcome=DEFERRED,
                requested_at=now, was_deferred=False, updated_at=now)
    session.add(brk)
    session.flush()
    return decision_dict(decide_break(session, brk, agent, rule_set.guards, now))


def team_snapshot(session: Session, *, agent: Agent, now: datetime, excluding: str) -> TeamSnapshot:
    """The counts the guards read: signed-in agents (not offline, seen within `signed_in_window`), agents resting
    or holding a granted break, the team's recent traffic."""
    config = context_of(session).config
    same_team = Agent.team == agent.team if agent.team else Agent.team.is_(None)
    recent = now - config.signed_in_window
    signed_in = session.scalar(select(func.count()).select_from(Agent).where(
        same_team, Agent.state != "offline", or_(Agent.load_as_of >= recent, Agent.state_changed_at >= recent)))
    resting = set(session.scalars(select(Agent.id).where(same_team, Agent.state == "on_break")))
    break_team = Break.team == agent.team if agent.team else Break.team.is_(None)
    resting |= set(session.scalars(select(Break.agent_id).where(break_team, Break.state.in_(("due", "on_break")),
                                                               Break.id != excluding)))
    shift_start = datetime.combine(now.astimezone(timezone.utc).date(), time(), tzinfo=timezone.utc)
    taken = session.scalar(select(func.count()).select_from(Break).where(
        Break.agent_id == agent.id, Break.granted_at >= shift_start, Break.state.in_(("due", "on_break", "ended"))))
    last_end = session.scalar(select(func.max(Break.ended_at)).where(Break.agent_id == agent.id))
    rate, aht = _traffic(session, team=agent.team, now=now, window=config.traffic_window)
    return TeamSnapshot(team_size=max(1, signed_in), available=max(signed_in, len(resting) + 1),
                        on_break=len(resting), agent_breaks_this_shift=taken, agent_last_break_ended_at=last_end,
                        arrival_rate_per_s=rate, aht_s=aht)


def _traffic(session: Session, *, team: str | None, now: datetime, window: timedelta) -> tuple[float, float]:
    """Arrival rate and average handle time of the team's interactions closed within the window (one aggregate)."""
    same_team = LoadEvent.team == team if team else LoadEvent.team.is_(None)
    count, aht = session.execute(select(func.count(), func.avg(LoadEvent.duration_seconds)).where(
        same_team, LoadEvent.kind == "interaction", LoadEvent.at > now - window, LoadEvent.at <= now)).one()
    return count / window.total_seconds(), float(aht) if aht else DEFAULT_AHT_S


def _lock_team(session: Session, team: str | None) -> None:
    """One decision per team at a time, so two simultaneous requests cannot both take the last break slot.

    PostgreSQL: a transaction-scoped advisory lock on the team; SQLite already serialises writers.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"wellbeing-team:{team or ''}".encode()) - 2**31
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def decide_break(session: Session, brk: Break, agent: Agent, guards: Guards, now: datetime) -> BreakDecisionRecord:
    """Ask the planner and store its verdict; a retry deferred again for the same reasons only moves retry_at."""
    _lock_team(session, agent.team)
    request = BreakRequest(agent_id=brk.agent_id, team=brk.team, rule_name=brk.rule, minutes=brk.minutes,
                           start=brk.start, requested_at=brk.requested_at, reasons=tuple(brk.request_reasons))
    decision = decide(request, team_snapshot(session, agent=agent, now=now, excluding=brk.id), guards, now)
    last = session.scalars(select(BreakDecisionRecord).where(BreakDecisionRecord.break_id == brk.id)
                           .order_by(BreakDecisionRecord.decided_at.desc(), BreakDecisionRecord.id.desc())
                           .limit(1)).first()
    brk.outcome, brk.updated_at = decision.outcome, now
    if decision.outcome == DEFERRED:
        brk.state, brk.retry_at, brk.was_deferred = DEFERRED, decision.retry_at, True
        if last is not None and last.outcome == DEFERRED and list(last.reasons) == list(decision.reasons):
            last.retry_at, last.detail = decision.retry_at, _json(decision.detail)
            return last
    elif decision.takes_break:
        _grant(session, brk, agent, decision, now)
    else:
        brk.state, brk.retry_at = "refused", None
    row = BreakDecisionRecord(id=new_id("bd"), break_id=brk.id, agent_id=brk.agent_id, team=brk.team, rule=brk.rule,
                              rule_set_version=brk.rule_set_version, outcome=decision.outcome, minutes=brk.minutes,
                              start=brk.start, starts_at=decision.starts_at, retry_at=decision.retry_at,
                              escalate_to=decision.escalate_to, reasons=list(decision.reasons), decided_at=now,
                              guard=decision.guard, detail=_json(decision.detail))
    session.add(row)
    session.flush()
    return row


def _json(detail) -> dict | None:
    return None if detail is None else dict(detail)


def _grant(session: Session, brk: Break, agent: Agent, decision: BreakDecision, now: datetime) -> None:
    """Due now; ready at once for start "now", or when the agent already finished since the request and is idle."""
    brk.state, brk.retry_at, brk.granted_at = "due", None, now
    idle = agent.state in FINISHED_STATES
    brk.ready_at = now if brk.start == START_NOW else (brk.ready_at if idle else None)
    item = enqueue_break_item(session, agent=agent, break_id=brk.id, minutes=brk.minutes, start=brk.start,
                              rule=brk.rule, reasons=list(decision.reasons), now=now)
    brk.queue_item_id = item.id
    if decision.outcome == ESCALATED:
        waited = round((now - brk.requested_at).total_seconds() / 60)
        routing = enqueue_case_item(
            session, case_id=None, kind="escalation", team=agent.team, preferred_agent_id=None, now=now,
            priority=PRIORITY_NORMAL,
            title=f"Break for {agent.name or agent.id} granted after {waited} min waiting: check team capacity",
            details={"escalate_to": decision.escalate_to, "break_id": brk.id, "agent_id": agent.id,
                     "reasons": list(decision.reasons)})
        brk.escalation_item_id = routing.item_id
    if brk.ready_at is not None and context_of(session).routing.assigns_work:
        start_break(session, brk, agent, now)


def start_break(session: Session, brk: Break, agent: Agent, now: datetime) -> None:
    """The agent goes on break now; the routing platform is told (Break activity)."""
    brk.state, brk.started_at, brk.updated_at = "on_break", now, now
    brk.ready_at = brk.ready_at or now
    brk.ends_at = now + timedelta(minutes=brk.minutes)
    agent_state.set_state(session, agent, "on_break", now)
    agent.consecutive_negative = 0
    queued = session.get(QueueItem, brk.queue_item_id) if brk.queue_item_id else None
    if queued is not None and queued.state == "queued":
        queued.state, queued.assigned_agent_id, queued.updated_at = "assigned", agent.id, now
    outbox.activity_set(session, adapter=context_of(session).routing.name, agent_id=agent.id, activity=BREAK,
                        now=now)


def end_break(session: Session, brk: Break, agent: Agent, *, at: datetime, reason: str) -> None:
    """The break is over: the agent is available again (and so is their worker on the platform)."""
    brk.state, brk.ended_at, brk.end_reason, brk.updated_at = "ended", at, reason, at
    if agent.state == "on_break":
        agent_state.set_state(session, agent, "available", at)
    finish_item(session, brk.queue_item_id, state="done", now=at)
    outbox.activity_set(session, adapter=context_of(session).routing.name, agent_id=agent.id, activity=AVAILABLE,
                        now=at)


def cancel_break(session: Session, brk: Break, *, now: datetime, reason: str) -> None:
    brk.state, brk.end_reason, brk.retry_at, brk.updated_at = "cancelled", reason, None, now
    finish_item(session, brk.queue_item_id, state="cancelled", now=now)


def break_match(rule_set: RuleSet, signals: InteractionSignals, *, load: float,
                consecutive_negative: int | None) -> RuleMatch | None:
    """Which rule, if any, asks for a break after this interaction (pure; the batched intake asks it first and
    calls `plan_break` only on a match)."""
    return evaluate(rule_set, AgentSituation.after(signals, load=load, consecutive_negative=consecutive_negative or 0))
