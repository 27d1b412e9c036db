"""Known problems' rules (pure): which cases a problem takes in, and whether an affected customer is told of the fix.

A fix notice is one more message to the customer, so it keeps the check-in rules: consent, opt-outs, caps, quiet
hours (followup.policy). The control group is kept out so the effect can be measured: a customer held out of
follow-up stays out, and the configured fraction of the rest is held out per problem.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from followup import policy as pol

SKIP_CODES = ("control", "no_consent", "opted_out", "capped", "case_reopened")
SKIP_LABELS = {"control": "control group", "no_consent": "no consent", "opted_out": "opted out", "capped": "capped",
               "case_reopened": "case already with a person", "not_sent": "not sent"}


@dataclass(frozen=True)
class ProblemScope:
    """The cases a problem is about: a category, optionally a journey stage, interactions that ended in a window
    (no end: still happening)."""

    category: str
    journey_stage: str | None
    start: datetime
    end: datetime | None = None


def in_scope(scope: ProblemScope, *, category: str | None, journey_stage: str | None, ended_at: datetime) -> bool:
    """An interaction this problem takes in: its category (and stage, when the problem names one) in the window."""
    if category != scope.category:
        return False
    if scope.journey_stage and journey_stage != scope.journey_stage:
        return False
    return ended_at >= scope.start and (scope.end is None or ended_at <= scope.end)


@dataclass(frozen=True)
class NoticePlan:
    send: bool
    channel: str | None
    address: str | None
    due_at: datetime | None
    skip_code: str | None
    reasons: tuple[str, ...]


def plan_fix_notice(*, key: str, contact: pol.Contact, used_channel: str | None, recent: Sequence[datetime],
                    held_out: bool, case_reopened: bool, policy: pol.SchedulePolicy, now: datetime) -> NoticePlan:
    """Whether, when and how one affected customer hears that the cause is fixed; `key` (problem:customer) makes
    the hold-out deterministic, so resolving twice gives the same answer."""
    if held_out or pol.in_control_group(key, policy.control_fraction):
        why = "held out of follow-up (control group)" if held_out else \
            f"held out: control group ({policy.control_fraction:.0%})"
        return NoticePlan(False, None, None, None, "control", (why,))
    if case_reopened:
        return NoticePlan(False, None, None, None, "case_reopened", ("case reopened: a person already has it",))
    channel, address, why = pol.choose_channel(contact, used_channel)
    if channel is None:
        code = "opted_out" if "opted out" in why else "no_consent"
        return NoticePlan(False, None, None, None, code, (why,))
    due, reasons = pol.first_humane_moment(now, contact.timezone, policy)
    cap = pol.cap_reason(recent, due, policy)
    if cap:
        return NoticePlan(False, channel, address, None, "capped", (why, cap))
    return NoticePlan(True, channel, address, due, None, (why, *reasons))
