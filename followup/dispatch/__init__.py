"""Sending due check-ins: the dispatcher and what it is built from (claim, send slots, outcome policy, writes)."""
from followup.dispatch.claim import claim_due, release_claims
from followup.dispatch.config import DispatchConfig, DispatchReport
from followup.dispatch.dispatcher import dispatch_backlog, dispatch_due
from followup.dispatch.writes import human_task_for_failed

__all__ = ["DispatchConfig", "DispatchReport", "claim_due", "dispatch_backlog", "dispatch_due",
           "human_task_for_failed", "release_claims"]
