"""Agents' load for a batch of closed interactions: what `record_interaction` and `plan_break` do per event, for
many in one transaction.

One query reads the agents, one their open breaks; then, in arrival order, the same pure steps as the per-event
path (`agents.loaded`, the team's threshold, `breaks.break_match`) update each agent in memory; the agents are
upserted and the load ledger inserted with one statement each. An interaction after which a rule asks for a break
goes to the planner as before (`plan_break`: team lock, guards, service level), after everything before it in the
batch is written — so the planner sees the same team, traffic and breaks the per-event path would have shown it.
Nothing here commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.core.bulk import insert_rows, upsert_rows
from aftercare.core.clock import utcnow
from wellbeing import load
from wellbeing.agents import (
    InteractionLoadInput,
    _facts,
    load_event_values,
    load_result,
    load_signals,
    loaded,
    threshold_for,
)
from wellbeing.breaks import break_match, plan_break
from wellbeing.context import context_of
from wellbeing.load import state_for_status
from wellbeing.models import OPEN_BREAK_STATES, Agent, Break, LoadEvent
from wellbeing.rulesets import active_rules, signals_from_facts

AGENT_COLUMNS = ("id", "name", "team", "state", "state_changed_at", "load_value", "load_as_of", "load_threshold",
                 "consecutive_negative")
UPDATED = ("name", "team", "load_value", "load_as_of", "load_threshold", "consecutive_negative", "updated_at")


@dataclass(frozen=True)
class AgentInteraction:
    """One closed interaction and the agent who handled it (what `record_interaction` takes)."""

    agent_id: str
    agent_name: str | None
    team: str | None
    interaction: InteractionLoadInput


def record_interactions(session: Session, *, items: Sequence[AgentInteraction], now: datetime) -> list[dict]:
    """For each item, in order, what `record_interaction` returns, with "break": what `plan_break` returns."""
    session.flush()
    config = context_of(session).config
    agents = _agents(session, list(dict.fromkeys(item.agent_id for item in items)))
    open_breaks = set(session.scalars(select(Break.agent_id).where(
        Break.agent_id.in_(list(agents) + [i.agent_id for i in items]), Break.state.in_(OPEN_BREAK_STATES))))
    pending: dict[str, dict] = {}
    ledger: list[dict] = []
    out = []
    for item in items:
        if item.agent_id in pending and pending[item.agent_id] is None:  # the planner changed it: read it again
            agents.update(_agents(session, [item.agent_id]))
            del pending[item.agent_id]
        agent = _updated(session, agents.get(item.agent_id), item, config)
        agents[item.agent_id] = pending[item.agent_id] = agent
        signals = load_signals(item.interaction, config)
        step = loaded(load.AgentLoad(agent["load_value"] or 0.0, agent["load_as_of"], state_for_status(agent["state"])),
                      agent["consecutive_negative"], signals, item.interaction.at, config)
        agent.update(load_value=step.after.value, load_as_of=step.after.as_of,
                     consecutive_negative=step.consecutive_negative,
                     load_threshold=threshold_for(active_rules(session, agent["team"])[0], config))
        ledger.append(load_event_values(item.agent_id, agent["team"], item.interaction, signals, step))
        result = load_result(item.agent_id, step, agent["load_threshold"])
        result["break"] = None
        if item.agent_id not in open_breaks:
            current = load.decay(load.AgentLoad(agent["load_value"], agent["load_as_of"],
                                                state_for_status(agent["state"])), now, config.weights).value
            rule_set = active_rules(session, agent["team"])[0]
            if break_match(rule_set, signals_from_facts(_facts(signals)), load=current,
                           consecutive_negative=agent["consecutive_negative"]) is not None:
                _write(session, pending, ledger)
                _forget(session, item.agent_id)
                result["break"] = plan_break(session, agent_id=item.agent_id, now=now,
                                             interaction_id=item.interaction.interaction_id)
                pending[item.agent_id] = None
                if result["break"] is not None:
                    open_breaks.add(item.agent_id)
        out.append(result)
    _write(session, pending, ledger)
    return out


def _agents(session: Session, ids: list[str]) -> dict[str, dict]:
    columns = [getattr(Agent, name) for name in AGENT_COLUMNS]
    return {row["id"]: dict(row) for row in session.execute(select(*columns).where(Agent.id.in_(ids))).mappings()}


def _updated(session: Session, old: dict | None, item: AgentInteraction, config) -> dict:
    """`agents.get_or_create` on a row held in memory."""
    if old is None:
        threshold = threshold_for(active_rules(session, item.team)[0], config)
        return dict(id=item.agent_id, name=item.agent_name, team=item.team, state="available", state_changed_at=None,
                    load_value=0.0, load_as_of=item.interaction.at, load_threshold=threshold, consecutive_negative=0)
    return {**old, "name": item.agent_name or old["name"], "team": item.team or old["team"]}


def _write(session: Session, pending: dict[str, dict | None], ledger: list[dict]) -> None:
    """The agents changed so far and their ledger rows, one statement each; then nothing is pending."""
    rows = [{**agent, "updated_at": utcnow()} for agent in pending.values() if agent is not None]
    upsert_rows(session, Agent.__table__, rows, update=UPDATED)
    insert_rows(session, LoadEvent.__table__, ledger)
    for agent_id in [key for key, agent in pending.items() if agent is not None]:
        del pending[agent_id]
    ledger.clear()


def _forget(session: Session, agent_id: str) -> None:
    """The planner reads the agent through the ORM: drop any copy loaded before the set-based write."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Agent) and obj.id == agent_id:
            session.expire(obj)
