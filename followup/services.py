"""followup's public interface: what the shell and intake call. Nothing else in followup is imported from outside
it (an import-linter contract holds this), so its modules can change without touching its callers.

Use cases take a session (the caller's unit of work) or a `UnitOfWork` they commit; adapters are built from
settings; blueprints are what the shell registers.
"""
from __future__ import annotations

from followup import problem_views, views
from followup.channels import build_channels, sendgrid_webhooks, twilio_webhooks
from followup.channels.twilio_content import ContentSyncError, sync_from_settings as sync_whatsapp_templates
from followup.checkins import (
    FollowupContext,
    interaction_facts,
    record_case_updated,
    record_customer_contacted,
    record_interaction_closed,
    triage_interaction,
)
from followup.commitments import process_commitments
from followup.crm import ADAPTERS as CRM_ADAPTERS, CrmAdapters, build_crm_adapter, views as crm_views
from followup.crm.outbox import (
    deliver_every_adapter as deliver_all_crm_notices,
    deliver_pending as deliver_crm_notices,
    policy_from_settings as crm_policy,
)
from followup.dispatch import DispatchConfig, dispatch_backlog, dispatch_due, release_claims
from followup.event_lengths import STORED_LENGTHS
from followup.intake_batch import ClosedInteraction, needs_single_handling, record_interactions_closed
from followup.inbound_spool import ReplayReport, describe_entry, replay_spool
from followup.inbox import case_teams, reopened_cases, unmatched_replies
from followup.outcome_store import outcome_report, record_churn, record_contact
from followup.problem_schemas import InsightsQuerySchema, ProblemFieldsSchema
from followup.problem_views import reopen_reasons as reopen_reasons_report
from followup.problems import (
    get_problem,
    list_problems,
    loop_outcomes,
    open_problem,
    problem_detail,
    resolve_problem,
)
from followup.reasons import LABELS as REASON_LABELS
from followup.problem_rules import SKIP_LABELS
from followup.outcomes import DEFINITIONS as OUTCOME_DEFINITIONS, csv_rows as outcome_csv_rows
from followup.replies import receive_reply
from followup.retention import BATCH as PURGE_BATCH, CasePurgeReport, cutoff_for as retention_cutoff, purge_closed_cases
from followup.understanding import ReplyContext, classify_reply
from followup.whatsapp_content import template_locales as whatsapp_template_locales

__all__ = [
    "blueprints", "build_channels", "ClosedInteraction", "needs_single_handling", "record_interactions_closed", "build_crm_adapter", "case_teams", "CasePurgeReport", "classify_reply",
    "ContentSyncError", "CRM_ADAPTERS", "crm_policy", "CrmAdapters", "deliver_all_crm_notices",
    "deliver_crm_notices", "describe_entry", "dispatch_backlog", "dispatch_due", "DispatchConfig",
    "FollowupContext", "get_problem", "InsightsQuerySchema", "interaction_facts", "list_problems", "loop_outcomes", "open_problem",
    "problem_detail", "ProblemFieldsSchema", "REASON_LABELS", "reopen_reasons_report", "resolve_problem",
    "SKIP_LABELS", "outcome_csv_rows", "OUTCOME_DEFINITIONS", "outcome_report",
    "process_commitments", "PURGE_BATCH", "purge_closed_cases", "receive_reply", "record_case_updated",
    "record_churn", "record_contact", "record_customer_contacted", "record_interaction_closed", "release_claims",
    "reopened_cases", "replay_spool", "ReplayReport", "ReplyContext", "retention_cutoff", "STORED_LENGTHS",
    "sync_whatsapp_templates", "triage_interaction", "unmatched_replies", "whatsapp_template_locales",
]


def blueprints() -> tuple:
    """followup's HTTP edge: its API, the providers' webhooks and the CRM outbox's dead letters."""
    return views.blp, twilio_webhooks.blp, sendgrid_webhooks.blp, crm_views.blp, problem_views.blp
