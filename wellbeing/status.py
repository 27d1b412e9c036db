"""`break_status` for agents over their threshold and not on a break: the planner's last decision on their open
(or today's refused) break, else what the rules say about them now; the words come from `wellbeing.explain`."""
from __future__ import annotations

from datetime import datetime, time, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wellbeing.explain import LastDecision, describe
from wellbeing.load import INTERACTION
from wellbeing.models import OPEN_BREAK_STATES, Agent, Break, BreakDecisionRecord, LoadEvent
from wellbeing.rules import AgentSituation
from wellbeing.rulesets import active_rules, signals_from_facts

RESTING = ("on_break", "offline")


def needs_status(row: dict) -> bool:
    """Over threshold and not resting: the manager will want to know why there is no break."""
    return bool(row.get("over_threshold")) and row.get("state") not in RESTING and not row.get("on_break_until")


def break_status(session: Session, agent: Agent, *, load: float, now: datetime) -> dict:
    """Why this agent is not on a break (see `wellbeing.explain.describe`)."""
    latest = session.scalars(select(Break).where(Break.agent_id == agent.id)
                             .order_by(Break.requested_at.desc(), Break.id.desc()).limit(1)).first()
    shift_start = datetime.combine(now.astimezone(timezone.utc).date(), time(), tzinfo=timezone.utc)
    relevant = latest is not None and (latest.state in OPEN_BREAK_STATES or
                                       latest.state == "refused" and latest.requested_at >= shift_start)
    decision = _last_decision(session, latest) if relevant else None
    rule_set, _ = active_rules(session, agent.team)
    facts = session.scalars(select(LoadEvent.facts).where(LoadEvent.agent_id == agent.id,
                                                          LoadEvent.kind == INTERACTION)
                            .order_by(LoadEvent.id.desc()).limit(1)).first()
    situation = AgentSituation.after(signals_from_facts(facts), load=load,
                                     consecutive_negative=agent.consecutive_negative or 0)
    last_end = session.scalar(select(func.max(Break.ended_at)).where(Break.agent_id == agent.id))
    return describe(decision, rule_set=rule_set, situation=situation, last_break_ended_at=last_end)


def _last_decision(session: Session, brk: Break) -> LastDecision | None:
    row = session.scalars(select(BreakDecisionRecord).where(BreakDecisionRecord.break_id == brk.id)
                          .order_by(BreakDecisionRecord.decided_at.desc(), BreakDecisionRecord.id.desc())
                          .limit(1)).first()
    if row is None:
        return None
    return LastDecision(outcome=row.outcome, rule=row.rule, minutes=row.minutes, start=row.start,
                        decided_at=row.decided_at, break_state=brk.state, guard=row.guard, detail=row.detail,
                        retry_at=brk.retry_at if row.outcome == "deferred" else row.retry_at,
                        escalate_to=row.escalate_to, requested_at=brk.requested_at)
