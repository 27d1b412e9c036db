"""Closed interactions in batches: what `record_interaction_closed` does for one event, for many in one transaction.

The queued intake's batched worker (`crm.intake_apply = "batched"`) hands a run of `interaction.closed` events
here. One query each reads the interactions already stored, the customers, the cases, the opt-outs of every
address and the customers' recent check-ins; then, event by event in arrival order, the same pure functions as
the per-event path decide (customer and case details, triage, the check-in policy, the message); then one
set-based statement per table writes the results. Nothing here commits: the caller's transaction holds the run.

An interaction the batch does not cover — a human callback (it goes through wellbeing's routing, which may
call a platform), one carrying a commitment, or one with a field this module does not know — is left to
`record_interaction_closed`
(`needs_single_handling`); the caller runs it one by one in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftercare.core.bulk import insert_rows, upsert_rows
from aftercare.core.clock import utcnow
from aftercare.core.problems import Problem
from followup import policy as pol
from followup.checkins import (
    CLOSED_CASE_FIELDS,
    CUSTOMER_FIELDS,
    RECENT_CHECKINS,
    FollowupContext,
    checkin_plan,
    closed_case_values,
    contact_addresses,
    customer_values,
    interaction_facts,
    interaction_values,
)
from followup.models import Case, CheckIn, Customer, Interaction, OptOut
from followup.problem_links import link_batch_to_open_problems
from followup.triage import AUTOMATED_CHECKIN, HUMAN_CALLBACK, triage


@dataclass(frozen=True)
class ClosedInteraction:
    """One validated `interaction.closed` event (SPEC §3), as `record_interaction_closed` takes it."""

    event_id: str
    interaction: dict
    customer: dict
    agent: dict | None = None
    origin: dict | None = None


# The `interaction` fields this module stores exactly as `record_interaction_closed` does. An interaction carrying
# any other (a field added later for a new feature) is handled one by one, so the feature works before the
# batch learns it.
BATCHED_FIELDS = frozenset({
    "id", "case_id", "channel", "journey_stage", "category", "started_at", "ended_at", "escalated_from_bot",
    "resolution", "customer_sentiment", "signals", "repeat_contact_count", "refund_or_credit_decision",
    "irreversible_action", "commitment"})


def needs_single_handling(interaction: dict, ctx: FollowupContext) -> bool:
    """True for an interaction `record_interactions_closed` leaves to `record_interaction_closed`."""
    if not BATCHED_FIELDS.issuperset(interaction):
        return True
    commitment = interaction.get("commitment") or {}
    if commitment.get("text") and commitment.get("due_at"):
        return True
    return triage(interaction_facts(interaction), ctx.triage_policy).decision == HUMAN_CALLBACK


def record_interactions_closed(session: Session, *, ctx: FollowupContext, items: Sequence[ClosedInteraction],
                               now: datetime) -> list[dict | Problem]:
    """For each item, in order, what `record_interaction_closed` would return, or the Problem it would raise
    (409: the interaction was already recorded, before or earlier in this run); refused items write nothing.
    Items that `needs_single_handling` must not be passed."""
    session.flush()  # the reads and writes below go around the ORM: let it write what it holds first
    known = _existing(session, items, now)
    customers, cases = known["customers"], known["cases"]
    opted_out, recent = known["opted_out"], known["recent"]
    seen = known["interactions"]
    out: list[dict | Problem] = []
    interactions, checkins = [], []
    stamp = utcnow()
    for item in items:
        interaction, agent = item.interaction, item.agent or {}
        if interaction["id"] in seen:
            out.append(Problem(409, "Conflict", f"Interaction {interaction['id']!r} was already recorded under "
                                                "another event_id.", kind="conflict"))
            continue
        seen.add(interaction["id"])
        customer = customer_values(customers.get(item.customer["id"]), item.customer)
        customers[customer["id"]] = customer
        case_id = interaction["case_id"]
        old_case = cases.get(case_id)
        case = {**(old_case or {"id": case_id, "customer_id": customer["id"], "created_at": now, "desk": None,
                                "desk_ref": None}),
                **closed_case_values(old_case, interaction=interaction, agent=agent, now=now)}
        if item.origin:
            case["desk"], case["desk_ref"] = item.origin["desk"], item.origin["ref"]
        cases[case_id] = case
        facts = interaction_facts(interaction)
        decision = triage(facts, ctx.triage_policy)
        if decision.decision == HUMAN_CALLBACK:
            raise ValueError(f"interaction {interaction['id']!r} needs single handling (a human callback)")
        row = interaction_values(event_id=item.event_id, interaction=interaction, agent=agent, case_id=case_id,
                                 customer_id=customer["id"], facts=facts, decision=decision, origin=item.origin,
                                 now=now)
        checkin = None
        if decision.decision == AUTOMATED_CHECKIN:
            addresses = {a for a in contact_addresses(customer["phone"], customer["email"]) if a}
            contact = pol.Contact(timezone=customer["timezone"], phone=customer["phone"], email=customer["email"],
                                  consent_sms=customer["consent_sms"], consent_email=customer["consent_email"],
                                  consent_whatsapp=customer["consent_whatsapp"],
                                  opted_out=frozenset(addresses & opted_out))
            plan, checkin = checkin_plan(ctx=ctx, contact=contact, customer=customer, interaction=row,
                                         recent=recent.setdefault(customer["id"], []), now=now)
            row["held_out"], row["schedule_reasons"] = plan.held_out, list(plan.reasons)
            if checkin is not None:
                checkin["updated_at"] = stamp
                checkins.append(checkin)
                recent[customer["id"]].append(checkin["due_at"])
        interactions.append(row)
        out.append({"interaction": row["id"], "triage": decision.as_dict(),
                    "checkin": {"id": checkin["id"], "due_at": checkin["due_at"].isoformat(),
                                "channel": checkin["channel"]} if checkin else None,
                    "schedule_reasons": list(row["schedule_reasons"])})
    _write(session, customers, cases, interactions, checkins, stamp)
    joined = link_batch_to_open_problems(session, interactions=interactions, now=now)
    for result in out:
        if isinstance(result, dict) and joined.get(result["interaction"]):
            result["problems"] = joined[result["interaction"]]
    return out


def _existing(session: Session, items: Sequence[ClosedInteraction], now: datetime) -> dict:
    """What the run needs from the database, one query per table."""
    interaction_ids = [item.interaction["id"] for item in items]
    customer_ids = list(dict.fromkeys(item.customer["id"] for item in items))
    case_ids = list(dict.fromkeys(item.interaction["case_id"] for item in items))
    customer_columns = [getattr(Customer, name) for name in ("id", *CUSTOMER_FIELDS)]
    customers = {row["id"]: dict(row) for row in session.execute(
        select(*customer_columns).where(Customer.id.in_(customer_ids))).mappings()}
    case_columns = [getattr(Case, name) for name in ("id", "customer_id", "created_at", "desk", "desk_ref",
                                                      *CLOSED_CASE_FIELDS)]
    cases = {row["id"]: dict(row) for row in session.execute(
        select(*case_columns).where(Case.id.in_(case_ids))).mappings()}
    addresses = set()
    for item in items:
        for data in (item.customer, customers.get(item.customer["id"]) or {}):
            addresses.update(a for a in contact_addresses(data.get("phone"), data.get("email")) if a)
    opted_out = set(session.scalars(select(OptOut.address).where(OptOut.address.in_(sorted(addresses))))) \
        if addresses else set()
    recent: dict[str, list[datetime]] = {}
    for customer_id, at in session.execute(
            select(CheckIn.customer_id, func.coalesce(CheckIn.sent_at, CheckIn.due_at)).where(
                CheckIn.customer_id.in_(customer_ids), CheckIn.state.not_in(("cancelled", "failed")),
                CheckIn.due_at >= now - RECENT_CHECKINS)):
        recent.setdefault(customer_id, []).append(at)
    seen = set(session.scalars(select(Interaction.id).where(Interaction.id.in_(interaction_ids))))
    return {"customers": customers, "cases": cases, "opted_out": opted_out, "recent": recent, "interactions": seen}


def _write(session: Session, customers: dict, cases: dict, interactions: list, checkins: list,
           stamp: datetime) -> None:
    """One statement per table: customers and cases upserted (a customer or case appears once per run; the
    ordering keys see to that, and a repeat would have been merged above), then the new rows."""
    touched_customers = {row["customer_id"] for row in interactions}
    touched_cases = {row["case_id"] for row in interactions}
    upsert_rows(session, Customer.__table__,
                [{**customers[cid], "updated_at": stamp} for cid in customers if cid in touched_customers],
                update=(*CUSTOMER_FIELDS, "updated_at"))
    upsert_rows(session, Case.__table__,
                [{**cases[cid], "updated_at": stamp} for cid in cases if cid in touched_cases],
                update=(*CLOSED_CASE_FIELDS, "desk", "desk_ref", "updated_at"))
    insert_rows(session, Interaction.__table__, interactions)
    insert_rows(session, CheckIn.__table__, checkins)
