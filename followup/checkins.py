"""followup's use cases: record a closed interaction, plan its check-in, act on replies and CRM updates.

Pure decisions come from triage/policy/understanding; this module stores them. Public functions flush;
the caller (one request or job = one unit of work) commits.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from aftercare.core.ids import new_id
from aftercare.core.problems import Problem
from followup import policy as pol
from followup.commitments import keep_commitments, record_commitment
from followup.messages import render_checkin
from followup.models import Case, CheckIn, Customer, Interaction, OptOut
from followup.problem_links import link_to_open_problems
from followup.reasons import root_cause_value
from followup.triage import AUTOMATED_CHECKIN, HUMAN_CALLBACK, InteractionFacts, TriagePolicy, triage


@dataclass(frozen=True)
class FollowupContext:
    """Settings the use cases need, turned into policies once per context (the app keeps one)."""

    settings: object

    @cached_property
    def schedule_policy(self) -> pol.SchedulePolicy:
        return pol.policy_from_settings(self.settings.followup)

    @cached_property
    def triage_policy(self) -> TriagePolicy:
        t = self.settings.triage
        return TriagePolicy(t.low_threshold, t.high_threshold, t.moral_threshold, dict(t.category_weights))

    @cached_property
    def root_cause_codes(self) -> dict[str, str]:
        """`insights.root_causes`: code → label."""
        return {str(k): str(v) for k, v in dict(self.settings.insights.root_causes).items()}


def interaction_facts(interaction: dict) -> InteractionFacts:
    """The triage inputs of a validated `interaction` object (SPEC §3)."""
    return InteractionFacts(
        sentiment=interaction.get("customer_sentiment"), signals=tuple(interaction.get("signals") or ()),
        repeat_contact_count=interaction.get("repeat_contact_count") or 0,
        escalated_from_bot=bool(interaction.get("escalated_from_bot")),
        resolution=interaction.get("resolution") or "unknown",
        refund_or_credit_decision=bool(interaction.get("refund_or_credit_decision")),
        irreversible_action=bool(interaction.get("irreversible_action")), category=interaction.get("category"))


def triage_interaction(interaction: dict, ctx: FollowupContext) -> dict:
    """The triage a validated `interaction` gets (pure): what the queued door answers before a worker acts, and
    what `record_interaction_closed` stores for the same facts and settings."""
    return triage(interaction_facts(interaction), ctx.triage_policy).as_dict()


CUSTOMER_FIELDS = ("name", "phone", "email", "timezone", "locale", "consent_sms", "consent_email", "consent_whatsapp")
CLOSED_CASE_FIELDS = ("state", "closed_at", "agent_id", "agent_name", "team", "journey_stage", "category")


def customer_values(existing: Mapping | None, data: dict) -> dict:
    """The customer's details after an event: what the event says wins, what it leaves out is kept (pure; the
    per-event and the batched intake both store this)."""
    old = existing or {}
    consent = data.get("consent") or {}
    return {"id": data["id"], "name": data.get("name") or old.get("name"),
            "phone": data.get("phone") or old.get("phone"), "email": data.get("email") or old.get("email"),
            "timezone": data.get("timezone") or old.get("timezone"), "locale": data.get("locale") or old.get("locale"),
            "consent_sms": bool(consent.get("sms", old.get("consent_sms") or False)),
            "consent_email": bool(consent.get("email", old.get("consent_email") or False)),
            "consent_whatsapp": bool(consent.get("whatsapp", old.get("consent_whatsapp") or False))}


def closed_case_values(existing: Mapping | None, *, interaction: dict, agent: dict, now: datetime) -> dict:
    """The case's columns once this interaction closed it (pure): closed now, by this agent, in this stage. (A
    native connector's origin then sets the desk and its id.)"""
    old = existing or {}
    return {"state": "closed", "closed_at": now, "agent_id": agent.get("id") or old.get("agent_id"),
            "agent_name": agent.get("name") or old.get("agent_name"), "team": agent.get("team") or old.get("team"),
            "journey_stage": interaction.get("journey_stage") or old.get("journey_stage"),
            "category": interaction.get("category") or old.get("category")}


def interaction_values(*, event_id: str, interaction: dict, agent: dict, case_id: str, customer_id: str,
                       facts: InteractionFacts, decision, origin: dict | None, now: datetime) -> dict:
    """The stored interaction with its triage (pure)."""
    commitment = interaction.get("commitment") or {}
    return dict(
        id=interaction["id"], event_id=event_id, case_id=case_id, customer_id=customer_id, agent_id=agent.get("id"),
        agent_name=agent.get("name"), team=agent.get("team"), channel=interaction["channel"],
        journey_stage=interaction.get("journey_stage"), category=interaction.get("category"),
        started_at=interaction.get("started_at"), ended_at=interaction.get("ended_at") or now,
        escalated_from_bot=facts.escalated_from_bot, resolution=facts.resolution,
        customer_sentiment=facts.sentiment, signals=list(facts.signals),
        repeat_contact_count=facts.repeat_contact_count, refund_or_credit_decision=facts.refund_or_credit_decision,
        irreversible_action=facts.irreversible_action, commitment_text=commitment.get("text"),
        commitment_due_at=commitment.get("due_at"), triage_decision=decision.decision,
        triage_scores=dict(decision.scores), triage_reasons=list(decision.reasons), important=decision.important,
        held_out=False, schedule_reasons=[], contact_notes=list((origin or {}).get("notes") or []) or None,
        created_at=now)


def checkin_plan(*, ctx: FollowupContext, contact: pol.Contact, customer: Mapping, interaction: Mapping,
                 recent: Sequence[datetime], now: datetime) -> tuple[pol.CheckinPlan, dict | None]:
    """The policy's plan for an interaction triaged for a check-in and, when it sends, the check-in's columns
    (pure but for the new id and reply token)."""
    used = interaction["channel"] if interaction["channel"] in pol.CHANNEL_ORDER else None
    plan = pol.plan_checkin(interaction_id=interaction["id"], ended_at=interaction["ended_at"], used_channel=used,
                            category=interaction["category"], contact=contact, recent_checkins=recent,
                            policy=ctx.schedule_policy, now=now)
    if not plan.send:
        return plan, None
    channel_settings = ctx.settings.followup
    locale = customer["locale"] or channel_settings.default_locale  # the CRM sent none: the configured language
    text = render_checkin(channel=plan.channel, locale=locale, customer_name=customer["name"],
                          agent_name=interaction["agent_name"], company=channel_settings.company_name,
                          category=interaction["category"], ended_at=interaction["ended_at"], due_at=plan.due_at,
                          tz=customer["timezone"])
    provider = getattr(channel_settings, f"channel_{plan.channel}")  # followup.channel_sms / _email / _whatsapp
    return plan, dict(id=new_id("chk"), case_id=interaction["case_id"], interaction_id=interaction["id"],
                      customer_id=customer["id"], channel=plan.channel, provider=provider, address=plan.address,
                      locale=locale, subject=text.subject, body=text.body, template_fields=text.fields,
                      state="scheduled", due_at=plan.due_at, important=interaction["important"],
                      reply_token=secrets.token_urlsafe(18), created_at=now)


def contact_addresses(phone: str | None, email: str | None) -> tuple[str | None, ...]:
    """Every address an opt-out of this customer's could be stored under."""
    return phone, email, pol.whatsapp_address(phone)


def _columns(row, names: Sequence[str]) -> dict:
    return {name: getattr(row, name) for name in names}


def upsert_customer(session: Session, data: dict) -> Customer:
    customer = session.get(Customer, data["id"])
    values = customer_values(None if customer is None else _columns(customer, CUSTOMER_FIELDS), data)
    if customer is None:
        customer = Customer(id=data["id"], timezone=data["timezone"])
        session.add(customer)
    for name in CUSTOMER_FIELDS:
        setattr(customer, name, values[name])
    return customer


def opted_out_addresses(session: Session, *addresses: str | None) -> frozenset[str]:
    wanted = [a for a in addresses if a]
    if not wanted:
        return frozenset()
    return frozenset(session.scalars(select(OptOut.address).where(OptOut.address.in_(wanted))))


def record_interaction_closed(session: Session, *, ctx: FollowupContext, event_id: str, interaction: dict,
                              agent: dict | None, customer: dict, now: datetime, origin: dict | None = None) -> dict:
    """Triage the interaction, store it, and schedule a check-in or a human callback (409 if it was already
    recorded, under another event id). `origin` (from a native connector) is the desk the case lives in, its id
    there, and notes on how the customer's contact details were found."""
    if session.get(Interaction, interaction["id"]) is not None:
        raise Problem(409, "Conflict", f"Interaction {interaction['id']!r} was already recorded under another "
                                       "event_id.", kind="conflict")
    cust = upsert_customer(session, customer)
    case = session.get(Case, interaction["case_id"])
    if case is None:
        case = Case(id=interaction["case_id"], customer_id=cust.id, created_at=now)
        session.add(case)
    agent = agent or {}
    for name, value in closed_case_values(_columns(case, CLOSED_CASE_FIELDS), interaction=interaction, agent=agent,
                                          now=now).items():
        setattr(case, name, value)
    if origin:
        case.desk, case.desk_ref = origin["desk"], origin["ref"]
    if interaction.get("root_cause"):
        case.root_cause = root_cause_value(interaction["root_cause"], ctx.root_cause_codes)
    facts = interaction_facts(interaction)
    decision = triage(facts, ctx.triage_policy)
    row = Interaction(**interaction_values(event_id=event_id, interaction=interaction, agent=agent, case_id=case.id,
                                           customer_id=cust.id, facts=facts, decision=decision, origin=origin,
                                           now=now))
    session.add(row)
    session.flush()
    checkin = None
    if decision.decision == AUTOMATED_CHECKIN:
        checkin = _schedule_checkin(session, ctx=ctx, case=case, customer=cust, interaction=row, now=now)
    elif decision.decision == HUMAN_CALLBACK:
        routing = wellbeing.enqueue_case_item(
            session, case_id=case.id, kind="human_task", team=case.team, preferred_agent_id=case.agent_id, now=now,
            title=f"Call back {cust.name or cust.id}: {'; '.join(decision.reasons[:2])}",
            details={"interaction_id": row.id, "reasons": list(decision.reasons)})
        row.schedule_reasons = [f"human task {routing.item_id}: {routing.reason}"]
    record_commitment(session, interaction=row, lead_minutes=ctx.settings.followup.commitment_reminder_minutes, now=now)
    problems = link_to_open_problems(session, case=case, interaction=row, now=now)
    session.flush()
    return {"interaction": row.id, "triage": decision.as_dict(),
            "checkin": {"id": checkin.id, "due_at": checkin.due_at.isoformat(), "channel": checkin.channel}
            if checkin else None,
            "schedule_reasons": list(row.schedule_reasons), **({"problems": problems} if problems else {})}


def recent_message_times(session: Session, *, customer_id: str, now: datetime) -> list[datetime]:
    """When this customer's recent check-ins (and fix notices) went or go: what the caps count."""
    return list(session.scalars(select(func.coalesce(CheckIn.sent_at, CheckIn.due_at)).where(
        CheckIn.customer_id == customer_id, CheckIn.state.not_in(("cancelled", "failed")),
        CheckIn.due_at >= now - timedelta(days=31))))


def _schedule_checkin(session: Session, *, ctx: FollowupContext, case: Case, customer: Customer,
                      interaction: Interaction, now: datetime) -> CheckIn | None:
    recent = recent_message_times(session, customer_id=customer.id, now=now)
    contact = pol.Contact(timezone=customer.timezone, phone=customer.phone, email=customer.email,
                          consent_sms=customer.consent_sms, consent_email=customer.consent_email,
                          consent_whatsapp=customer.consent_whatsapp,
                          opted_out=opted_out_addresses(session, customer.phone, customer.email,
                                                        pol.whatsapp_address(customer.phone)))
    plan, values = checkin_plan(ctx=ctx, contact=contact, customer=_columns(customer, ("id", *CUSTOMER_FIELDS)),
                                interaction=_columns(interaction, CHECKIN_INTERACTION_FIELDS), recent=recent, now=now)
    interaction.held_out = plan.held_out
    interaction.schedule_reasons = list(plan.reasons)
    if values is None:
        return None
    checkin = CheckIn(**values)
    session.add(checkin)
    return checkin


RECENT_CHECKINS = timedelta(days=31)  # how far back the caps look (30 days, and a day's margin)
CHECKIN_INTERACTION_FIELDS = ("id", "case_id", "channel", "ended_at", "category", "agent_name", "important")


def cancel_pending(session: Session, *, now: datetime, reason: str, case_id: str | None = None,
                   customer_id: str | None = None, address: str | None = None,
                   postpone: timedelta | None = None) -> list[str]:
    """Cancel (or postpone) check-ins not yet claimed; claimed ones are already on their way."""
    stmt = select(CheckIn).where(CheckIn.state == "scheduled")
    if case_id:
        stmt = stmt.where(CheckIn.case_id == case_id)
    if customer_id:
        stmt = stmt.where(CheckIn.customer_id == customer_id)
    if address:
        stmt = stmt.where(CheckIn.address == address)
    touched = []
    for checkin in session.scalars(stmt):
        if postpone:
            checkin.due_at = max(checkin.due_at, now + postpone)
            checkin.state_reason = f"postponed: {reason}"
        else:
            checkin.state, checkin.state_reason = "cancelled", reason
        checkin.updated_at = now
        touched.append(checkin.id)
    session.flush()
    return touched


def record_case_updated(session: Session, *, ctx: FollowupContext, case_id: str, status: str | None,
                        now: datetime, root_cause: str | None = None) -> dict:
    """An agent touched the case: a pending check-in is moot (or postponed); a human close ends a reopen. A root
    cause given with it (a configured code or the agent's words) is kept on the case."""
    minutes = ctx.settings.followup.postpone_on_case_update_minutes
    postpone = timedelta(minutes=minutes) if minutes else None
    keep_commitments(session, case_id=case_id, now=now)
    touched = cancel_pending(session, now=now, case_id=case_id, postpone=postpone,
                             reason="case.updated: an agent touched the case")
    case = session.get(Case, case_id)
    if case is not None and status in ("open", "closed"):
        if status == "closed" and case.state != "closed":
            case.closed_at = now
            wellbeing.close_case_items(session, case_id=case_id, now=now)
        case.state = status
    if case is not None and root_cause:
        case.root_cause = root_cause_value(root_cause, ctx.root_cause_codes)
    session.flush()
    return {"case_id": case_id, "case_state": case.state if case else None,
            ("postponed" if postpone else "cancelled"): touched,
            **({"root_cause": case.root_cause} if case is not None and root_cause else {})}


def record_customer_contacted(session: Session, *, customer_id: str, case_id: str | None, now: datetime) -> dict:
    """The customer came back by themselves: no check-in needed now (and it counts as a repeat contact)."""
    touched = cancel_pending(session, now=now, customer_id=customer_id,
                             reason="customer.contacted: the customer came back by themselves")
    return {"customer_id": customer_id, "case_id": case_id, "cancelled": touched}


def opt_out(session: Session, *, address: str, channel: str, source: str, now: datetime) -> list[str]:
    """Opt-out belongs to the address: record it and cancel everything pending for it."""
    if session.get(OptOut, address) is None:
        session.add(OptOut(address=address, channel=channel, source=source, opted_out_at=now))
    return cancel_pending(session, now=now, address=address, reason=f"opted out: {source}")


def opt_in(session: Session, *, address: str) -> bool:
    row = session.get(OptOut, address)
    if row is not None:
        session.delete(row)
        session.flush()
    return row is not None


REPLY_WINDOW = timedelta(days=14)


def latest_open_checkin(session: Session, address: str, now: datetime | None = None) -> CheckIn | None:
    """The most recent check-in sent to this address (a follow-up message after a first reply counts too)."""
    stmt = select(CheckIn).where(CheckIn.address == address,
                                 CheckIn.state.in_(("claimed", "sent", "delivered", "replied")))
    if now is not None:
        stmt = stmt.where(func.coalesce(CheckIn.sent_at, CheckIn.due_at) >= now - REPLY_WINDOW)
    return session.scalars(stmt.order_by(func.coalesce(CheckIn.sent_at, CheckIn.due_at).desc()).limit(1)).first()


def make_due_now(session: Session, *, checkin: CheckIn, now: datetime) -> CheckIn:
    """Send now still goes through the dispatcher: the row just becomes due."""
    checkin.due_at, checkin.updated_at = now, now
    checkin.state_reason = "send-now requested"
    session.flush()
    return checkin
