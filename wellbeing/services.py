"""wellbeing's public interface: agents' load and state, break rules, breaks, and the routing queue.

`followup`, the shell's CRM intake and the dashboard call only these functions; they never touch wellbeing's
tables. Functions here flush but do not commit: the caller's use case owns the transaction. The app binds
its `[wellbeing]` settings and routing adapter to its sessions (`wellbeing.context.bind`), so callers pass a
session and nothing else.
"""
from __future__ import annotations

from wellbeing.agents import (
    InteractionLoadInput,
    agent_load,
    agent_unavailable_reason,
    record_interaction,
    record_negative_reply,
    team_load,
)
from wellbeing.breaks import plan_break
from wellbeing.context import bind
from wellbeing.handover import (
    BreakConflict,
    agent_breaks,
    apply_platform_event,
    end_agent_break,
    next_for_agent,
    report_state,
)
from wellbeing.intake_batch import AgentInteraction, record_interactions
from wellbeing.jobs import process_breaks
from wellbeing.models import STORED_LENGTHS
from wellbeing.queue import (
    PRIORITY_BREAK,
    PRIORITY_HIGH,
    PRIORITY_NORMAL,
    Routing,
    close_case_items,
    enqueue_case_item,
    queue_item_dict,
    queue_items,
    redact_case_items,
)
from wellbeing.rattled import agent_reports, mark_rattled_seen, purge_report_notes, rattled_prompts, report_rattled
from wellbeing.reports import break_decisions, break_stats
from wellbeing.routing import build_routing_adapter
from wellbeing.rule_fields import FieldSpec, canonical_rule_document, rule_form_spec
from wellbeing.rule_schema import dump_rule_set
from wellbeing.rules import DEFAULT_RULE_SET
from wellbeing.rulesets import active_rule_set, publish_rule_set, rollback_rule_set, rule_history, simulate_rule_set
from wellbeing.views import BLUEPRINTS

__all__ = [
    "AgentInteraction", "record_interactions",
    "DEFAULT_RULE_SET", "PRIORITY_BREAK", "STORED_LENGTHS", "PRIORITY_HIGH", "PRIORITY_NORMAL", "BreakConflict", "InteractionLoadInput", "Routing",
    "active_rule_set", "agent_breaks", "agent_load", "agent_unavailable_reason", "apply_platform_event", "bind",
    "break_decisions", "break_stats", "close_case_items", "end_agent_break", "enqueue_case_item", "next_for_agent",
    "plan_break", "process_breaks", "publish_rule_set", "queue_item_dict", "queue_items", "record_interaction", "redact_case_items",
    "FieldSpec", "canonical_rule_document", "rule_form_spec",
    "record_negative_reply", "report_state", "blueprints", "build_routing_adapter", "dump_rule_set", "rollback_rule_set", "rule_history", "simulate_rule_set", "team_load",
]

__all__ += ["agent_reports", "mark_rattled_seen", "purge_report_notes", "rattled_prompts", "report_rattled"]


def blueprints() -> tuple:
    """wellbeing's HTTP edge: agents, the routing queue, break rules and the routing platform's callbacks."""
    return BLUEPRINTS
