"""Agents' state and emotional load: O(1) updates as interactions and state reports arrive, and views of it."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wellbeing import load, status
from wellbeing.context import WellbeingConfig, context_of
from wellbeing.load import INTERACTION, STATE, InteractionSignals, LoadWeights, state_for_status
from wellbeing.models import Agent, Break, LoadEvent
from wellbeing.rules import RuleSet, is_negative
from wellbeing.rulesets import active_rules, signals_from_facts

DAY = timedelta(hours=24)
SERIES_STEP = timedelta(minutes=15)
SERIES_LEAD = timedelta(hours=12)
REPLY = "reply"


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
    negative_reply: bool = False


def get_or_create(session: Session, agent_id: str, *, at: datetime, name: str | None = None,
                  team: str | None = None) -> Agent:
    """The agent's row, created available with no load on first sight; a name or team given updates it."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        threshold = threshold_for(active_rules(session, team)[0], context_of(session).config)
        agent = Agent(id=agent_id, name=name, team=team, state="available", load_value=0.0, load_as_of=at,
                      load_threshold=threshold, consecutive_negative=0)
        session.add(agent)
    else:
        agent.name = name or agent.name
        agent.team = team or agent.team
    return agent


def load_of(agent: Agent) -> load.AgentLoad:
    return load.AgentLoad(agent.load_value or 0.0, agent.load_as_of, state_for_status(agent.state))


def current_load(agent: Agent, now: datetime, weights: LoadWeights) -> float:
    return load.decay(load_of(agent), now, weights).value


def threshold_for(rule_set: RuleSet, config: WellbeingConfig) -> float:
    """The lowest load at which the team's rules ask for a break; the configured default when none looks at load."""
    levels = [rule.when.load_at_least for rule in rule_set.rules if rule.when.load_at_least is not None]
    return min(levels, default=config.load_threshold)


def set_state(session: Session, agent: Agent, state: str, at: datetime) -> None:
    """Record a state; when it switches between working and resting, the load decays at the other rate from now."""
    weights = context_of(session).config.weights
    resting = state_for_status(state)
    if state_for_status(agent.state) != resting:
        moved = load.set_state(load_of(agent), resting, at, weights)
        agent.load_value, agent.load_as_of = moved.value, moved.as_of
        session.add(LoadEvent(agent_id=agent.id, team=agent.team, at=at, kind=STATE, weight=0.0, parts={},
                              note=resting))
    agent.state, agent.state_changed_at = state, at


def record_interaction(session: Session, *, agent_id: str, agent_name: str | None, team: str | None,
                       interaction: InteractionLoadInput) -> dict:
    """Add one interaction's emotional weight to its agent's load (O(1): decay, then add) and keep the facts
    the rules read, so the interaction can be replayed in a simulation."""
    config = context_of(session).config
    agent = get_or_create(session, agent_id, name=agent_name, team=team, at=interaction.at)
    signals = load_signals(interaction, config)
    step = loaded(load_of(agent), agent.consecutive_negative, signals, interaction.at, config)
    agent.load_value, agent.load_as_of = step.after.value, step.after.as_of
    agent.consecutive_negative = step.consecutive_negative
    agent.load_threshold = threshold_for(active_rules(session, agent.team)[0], config)
    session.add(LoadEvent(**load_event_values(agent_id, agent.team, interaction, signals, step)))
    session.flush()
    return load_result(agent_id, step, agent.load_threshold)


@dataclass(frozen=True)
class LoadStep:
    """One interaction's weight added to an agent's load (pure: `loaded`)."""

    breakdown: load.WeightBreakdown
    after: load.AgentLoad
    consecutive_negative: int


def load_signals(interaction: InteractionLoadInput, config: WellbeingConfig) -> InteractionSignals:
    return InteractionSignals(
        sentiment=interaction.sentiment, signals=tuple(interaction.signals),
        escalated_from_bot=interaction.escalated_from_bot, resolution=interaction.resolution,
        duration_seconds=interaction.duration_seconds, category=interaction.category,
        category_norm_seconds=config.category_norm_seconds.get(interaction.category or ""),
        negative_reply=interaction.negative_reply)


def loaded(before: load.AgentLoad, consecutive_negative: int | None, signals: InteractionSignals, at: datetime,
           config: WellbeingConfig) -> LoadStep:
    """The agent's load and streak after this interaction (pure; the per-event and batched intake share it)."""
    breakdown = load.interaction_weight(signals, config.weights)
    after = load.add(before, breakdown.total, at, config.weights)
    streak = (consecutive_negative or 0) + 1 if is_negative(signals) else 0
    return LoadStep(breakdown, after, streak)


def load_event_values(agent_id: str, team: str | None, interaction: InteractionLoadInput,
                      signals: InteractionSignals, step: LoadStep) -> dict:
    return dict(agent_id=agent_id, team=team, at=interaction.at, kind=INTERACTION, weight=step.breakdown.total,
                parts=dict(step.breakdown.parts), facts=_facts(signals), duration_seconds=interaction.duration_seconds,
                interaction_id=interaction.interaction_id, note=None)


def load_result(agent_id: str, step: LoadStep, threshold: float) -> dict:
    return {"agent_id": agent_id, "load": round(step.after.value, 3), "added": round(step.breakdown.total, 3),
            "parts": {k: round(v, 3) for k, v in step.breakdown.parts.items()}, "threshold": threshold,
            "consecutive_negative": step.consecutive_negative}


def record_negative_reply(session: Session, *, agent_id: str, reply_id: str, at: datetime) -> dict | None:
    """A customer's negative check-in reply about this agent's case weighs on the agent too (not an interaction:
    it adds no traffic and does not count towards "in a row")."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        return None
    weights = context_of(session).config.weights
    after = load.add(load_of(agent), weights.negative_reply, at, weights)
    agent.load_value, agent.load_as_of = after.value, after.as_of
    session.add(LoadEvent(agent_id=agent_id, team=agent.team, at=at, kind=REPLY, weight=weights.negative_reply,
                          parts={"negative_reply": weights.negative_reply}, interaction_id=reply_id))
    session.flush()
    return {"agent_id": agent_id, "load": round(after.value, 3), "added": round(weights.negative_reply, 3)}


def _facts(signals: InteractionSignals) -> dict:
    facts = asdict(signals)
    facts["signals"] = list(signals.signals)
    return facts


def interaction_signals(session: Session, *, agent_id: str, interaction_id: str | None) -> InteractionSignals:
    """The facts recorded for an interaction (the agent's latest when no id is given)."""
    stmt = select(LoadEvent.facts).where(LoadEvent.agent_id == agent_id, LoadEvent.kind == INTERACTION)
    if interaction_id is not None:
        stmt = stmt.where(LoadEvent.interaction_id == interaction_id)
    return signals_from_facts(session.scalars(stmt.order_by(LoadEvent.id.desc()).limit(1)).first())


def agent_unavailable_reason(session: Session, agent_id: str, now: datetime) -> str | None:
    """Why this agent should not get more work now (on a break, offline, over load threshold), or None."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        return None
    if agent.state in ("on_break", "offline"):
        return f"agent {agent_id} is {agent.state.replace('_', ' ')}"
    current = current_load(agent, now, context_of(session).config.weights)
    if current >= agent.load_threshold:
        return f"agent {agent_id} is over their load threshold ({current:.1f} ≥ {agent.load_threshold:.1f})"
    return None


def _on_break_until(session: Session, agent_ids: list[str]) -> dict[str, datetime]:
    if not agent_ids:
        return {}
    return dict(session.execute(select(Break.agent_id, Break.ends_at).where(
        Break.state == "on_break", Break.agent_id.in_(agent_ids))).all())


def _summary(agent: Agent, now: datetime, weights: LoadWeights) -> dict:
    value = round(current_load(agent, now, weights), 3)
    return {"agent_id": agent.id, "name": agent.name, "team": agent.team, "state": agent.state, "load": value,
            "threshold": agent.load_threshold, "over_threshold": value >= agent.load_threshold}


def team_load(session: Session, *, team: str | None, now: datetime) -> list[dict]:
    """Every agent of the team (all agents when None) with their load decayed to now, heaviest first; those over
    their threshold and not on a break carry `break_status` (why not, `wellbeing.explain`), the others None."""
    weights = context_of(session).config.weights
    stmt = select(Agent)
    if team is not None:
        stmt = stmt.where(Agent.team == team)
    agents = list(session.scalars(stmt.order_by(Agent.id)))
    until = _on_break_until(session, [a.id for a in agents])
    rows = []
    for agent in agents:
        row = _summary(agent, now, weights)
        ends = until.get(agent.id)
        row["on_break_until"] = ends.isoformat() if ends else None
        row["break_status"] = (status.break_status(session, agent, load=row["load"], now=now)
                               if status.needs_status(row) else None)
        rows.append(row)
    return sorted(rows, key=lambda row: -row["load"])


def agent_load(session: Session, *, agent_id: str, now: datetime) -> dict | None:
    """Load now, what it was made of over the last 24 h, and a 24 h series every 15 minutes."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        return None
    weights = context_of(session).config.weights
    start = now - DAY
    events = session.execute(select(LoadEvent.at, LoadEvent.kind, LoadEvent.weight, LoadEvent.parts, LoadEvent.note)
                             .where(LoadEvent.agent_id == agent_id, LoadEvent.at > start - SERIES_LEAD,
                                    LoadEvent.at <= now).order_by(LoadEvent.at, LoadEvent.id)).all()
    parts: dict[str, float] = {}
    for at, kind, _, event_parts, _ in events:
        if kind != STATE and at > start:
            for name, value in (event_parts or {}).items():
                parts[name] = parts.get(name, 0.0) + value
    timeline = [(at, STATE, note) if kind == STATE else (at, INTERACTION, weight)
                for at, kind, weight, _, note in events]
    points = load.series(timeline, start, now, SERIES_STEP, weights)
    return {**_summary(agent, now, weights), "parts": {name: round(value, 3) for name, value in parts.items()},
            "series": [{"at": at.isoformat(), "load": round(value, 3)} for at, value in points]}
