"""Break rule sets as managers edit them: versioned per team, with author and reason, rolled back by copying.

Every change is a new row and rows are never updated, so the history is the audit trail. A team without its
own set uses the default set (scope ""); with nothing stored at all, `rules.DEFAULT_RULE_SET` applies.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wellbeing.context import context_of
from wellbeing.load import AGENT_REPORTED, InteractionSignals
from wellbeing.models import Agent, BreakRuleSetVersion, LoadEvent
from wellbeing.rule_schema import dump_rule_set, load_rule_set
from wellbeing.rules import DEFAULT_RULE_SET, RuleSet, Scope
from wellbeing.simulation import RecordedInteraction, simulate

MAX_SIMULATION_WINDOW = timedelta(days=31)


def _scope(team: str | None) -> str:
    return team or ""


def _latest(session: Session, team: str | None) -> BreakRuleSetVersion | None:
    return session.scalars(select(BreakRuleSetVersion).where(BreakRuleSetVersion.scope == _scope(team))
                           .order_by(BreakRuleSetVersion.version.desc()).limit(1)).first()


def active_rules(session: Session, team: str | None) -> tuple[RuleSet, BreakRuleSetVersion | None]:
    """The rule set the planner uses for `team`, and the stored version it came from (None: the built-in one).

    Read once per session (one request or one event): load, threshold and planner each ask for it, and
    parsing a stored set costs more than the rest of a decision. Publishing through this session forgets it.
    """
    cache = session.info.setdefault(_RULES_CACHE, {})
    if _scope(team) not in cache:
        row = (_latest(session, team) if team else None) or _latest(session, None)
        cache[_scope(team)] = (DEFAULT_RULE_SET, None) if row is None else (load_rule_set(row.rules), row)
    return cache[_scope(team)]


_RULES_CACHE = "wellbeing.active_rules"


def version_dict(row: BreakRuleSetVersion) -> dict:
    return {"version": row.version, "team": row.team, "rules": row.rules, "author": row.author,
            "reason": row.reason, "created_at": row.created_at.isoformat()}


def active_rule_set(session: Session, *, team: str | None) -> dict:
    """What applies to `team` now: its own latest version, else the default set's, else the built-in rules."""
    _, row = active_rules(session, team)
    if row is None:
        return {"version": None, "team": None, "rules": dump_rule_set(DEFAULT_RULE_SET), "author": None,
                "reason": "built-in default", "created_at": None}
    return version_dict(row)


def publish_rule_set(session: Session, *, team: str | None, data: object, author: str, reason: str,
                     now: datetime) -> dict:
    """Validate and store a new version; `ValidationError.messages` is keyed by dotted field path."""
    rule_set = load_rule_set(data)
    if rule_set.scope.team not in (None, team):
        raise ValidationError({"scope.team": [f"Must be {team!r} (the team being edited) or left out."]})
    return _store(session, team=team, rules=dump_rule_set(replace(rule_set, scope=Scope(team=team))),
                  author=author, reason=_reason(reason), now=now)


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError({"reason": ["Say why the rules change: it is kept in the history."]})
    return text


def _store(session: Session, *, team: str | None, rules: dict, author: str, reason: str, now: datetime) -> dict:
    """The next version number for the scope; a concurrent publish of the same number fails on the unique key."""
    current = session.scalar(select(func.max(BreakRuleSetVersion.version))
                             .where(BreakRuleSetVersion.scope == _scope(team))) or 0
    row = BreakRuleSetVersion(scope=_scope(team), team=team, version=current + 1, rules=rules, author=author,
                              reason=reason, created_at=now)
    session.add(row)
    session.flush()
    session.info.pop(_RULES_CACHE, None)
    return version_dict(row)


def rule_history(session: Session, *, team: str | None = None) -> list[dict]:
    """Every version of `team`'s own set (None: the default set), newest first."""
    rows = session.scalars(select(BreakRuleSetVersion).where(BreakRuleSetVersion.scope == _scope(team))
                           .order_by(BreakRuleSetVersion.version.desc()))
    return [version_dict(row) for row in rows]


def rollback_rule_set(session: Session, *, team: str | None, version: int, author: str, now: datetime,
                      reason: str | None = None) -> dict:
    """Publish an exact copy of an earlier version as the newest one; the history keeps everything."""
    old = session.scalars(select(BreakRuleSetVersion).where(BreakRuleSetVersion.scope == _scope(team),
                                                            BreakRuleSetVersion.version == version)).first()
    if old is None:
        raise LookupError(f"no version {version} of the {team or 'default'} rule set")
    note = f"rollback to version {version}" + (f": {reason.strip()}" if reason and reason.strip() else "")
    return _store(session, team=team, rules=dict(old.rules), author=author, reason=note, now=now)


def recorded_interactions(session: Session, *, team: str | None, start: datetime,
                          end: datetime) -> list[RecordedInteraction]:
    """The interactions wellbeing recorded for the team's agents in the window (all teams when None), and the
    agents' "that one rattled me" reports among them (`agent_reported`)."""
    stmt = select(LoadEvent.agent_id, LoadEvent.at, LoadEvent.facts, LoadEvent.kind).where(
        LoadEvent.kind.in_(("interaction", AGENT_REPORTED)), LoadEvent.at >= start,
        LoadEvent.at < end).order_by(LoadEvent.at, LoadEvent.id)
    if team is not None:
        stmt = stmt.where(LoadEvent.team == team)
    return [RecordedInteraction(agent_id=agent_id, at=at, signals=signals_from_facts(facts),
                                agent_reported=kind == AGENT_REPORTED)
            for agent_id, at, facts, kind in session.execute(stmt)]



def signals_from_facts(facts: dict | None) -> InteractionSignals:
    if not facts:
        return InteractionSignals()
    return InteractionSignals(**{**facts, "signals": tuple(facts.get("signals") or ())})


def simulate_rule_set(session: Session, *, rules: object, start: datetime, end: datetime,
                      team: str | None) -> dict:
    """Replay the window's recorded interactions with the proposed rules and with the active ones."""
    problems = {}
    try:
        proposed = load_rule_set(rules)
    except ValidationError as error:
        problems.update({"rules" if field == "_schema" else f"rules.{field}": texts
                         for field, texts in error.messages.items()})
    if end <= start:
        problems["to"] = ["Must be after 'from'."]
    elif end - start > MAX_SIMULATION_WINDOW:
        problems["to"] = [f"The window may be at most {MAX_SIMULATION_WINDOW.days} days."]
    if problems:
        raise ValidationError(problems)
    active, row = active_rules(session, team)
    interactions = recorded_interactions(session, team=team, start=start, end=end)
    roster_stmt = select(Agent.id)
    if team is not None:
        roster_stmt = roster_stmt.where(Agent.team == team)
    roster = list(session.scalars(roster_stmt))
    weights = context_of(session).config.weights

    def run(rule_set: RuleSet) -> dict:
        return simulate(rule_set, interactions, roster, team, start, end, weights=weights).as_dict()

    return {"proposed": run(proposed), "active": run(active),
            "window": {"from": start.isoformat(), "to": end.isoformat(), "team": team,
                       "interactions": len(interactions), "active_version": row.version if row else None}}
