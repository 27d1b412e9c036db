"""A customer's reply: store it (always), understand it, then close the loop, reopen to a person or opt out."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Histogram
from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from aftercare.core.ids import new_id
from followup.checkins import latest_open_checkin, opt_out
from followup.crm import CrmAdapter, ReopenNotice
from followup.crm.outbox import record_reopen
from followup.messages import templates_for
from followup.models import Case, CheckIn, Reply
from followup.reasons import reason_category
from followup.understanding import ReplyContext, ReplyVerdict, classify_reply

log = logging.getLogger("aftercare.replies")
REOPEN_LATENCY = Histogram("reopen_latency_seconds", "Reply received until the case is in a human queue",
                           buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))


@dataclass(frozen=True)
class ReplyOutcome:
    reply: Reply
    verdict: ReplyVerdict
    action: str
    checkin: CheckIn | None
    routed_agent_id: str | None = None  # the agent a reopened case was routed to (None: a team queue)

    def as_dict(self) -> dict:
        return {"reply_id": self.reply.id, "checkin_id": self.checkin.id if self.checkin else None,
                "case_id": self.reply.case_id, "verdict": self.verdict.as_dict(), "action": self.action}


def receive_reply(session: Session, *, text: str, channel: str, now: datetime, crm: CrmAdapter,
                  checkin: CheckIn | None = None, from_address: str | None = None,
                  verdict: ReplyVerdict | None = None, untrusted: str | None = None,
                  min_confidence: float = 0.0) -> ReplyOutcome:
    """Store the reply first (never dropped), then act on what it means.

    The reply is read knowing the check-in's question (YES/NO answer it) and below `min_confidence`
    (followup.understanding.min_confidence) a resolved/ack verdict goes to a person. `untrusted` says why the
    sender could not be verified (SPEC §8): such a reply is stored unmatched, with that reason, for a person to
    read, and changes nothing else.
    """
    received = time.perf_counter()
    if untrusted is not None:
        return _store_untrusted(session, text=text, channel=channel, now=now, from_address=from_address,
                                reason=untrusted, verdict=verdict)
    if checkin is None and from_address:
        checkin = latest_open_checkin(session, from_address, now)
    case = session.get(Case, checkin.case_id) if checkin else None
    locale = checkin.locale if checkin else None
    verdict = verdict or classify_reply(text, ReplyContext(
        channel=channel, locale=locale, agent_name=case.agent_name if case else None,
        question=templates_for(locale).get("question"), min_confidence=min_confidence))
    reply = Reply(id=new_id("rep"), checkin_id=checkin.id if checkin else None, case_id=case.id if case else None,
                  channel=channel, from_address=from_address or (checkin.address if checkin else None), text=text,
                  intent=verdict.intent, confidence=verdict.confidence, reasons=list(verdict.reasons),
                  received_at=now)
    session.add(reply)
    if checkin is not None:
        checkin.state, checkin.replied_at, checkin.updated_at = "replied", now, now
    action, routed_agent_id = _act(session, reply=reply, verdict=verdict, case=case, checkin=checkin, crm=crm,
                                   now=now, received=received)
    reply.action = action
    session.flush()
    return ReplyOutcome(reply=reply, verdict=verdict, action=action, checkin=checkin, routed_agent_id=routed_agent_id)


UNVERIFIED_OPT_OUT = "opt-out request from an unverified sender: needs confirmation"


def _store_untrusted(session: Session, *, text: str, channel: str, now: datetime, from_address: str | None,
                     reason: str, verdict: ReplyVerdict | None) -> ReplyOutcome:
    """Kept for a person, linked to no check-in or case; an opt-out is not recorded on an unverified word."""
    verdict = verdict or classify_reply(text, ReplyContext(channel=channel))
    why = f"{UNVERIFIED_OPT_OUT} ({reason})" if verdict.intent == "opt_out" else reason
    reply = Reply(id=new_id("rep"), checkin_id=None, case_id=None, channel=channel, from_address=from_address,
                  text=text, intent=verdict.intent, confidence=verdict.confidence, reasons=list(verdict.reasons),
                  action=f"not acted on: {why}; stored for a person to read", received_at=now)
    session.add(reply)
    session.flush()
    return ReplyOutcome(reply=reply, verdict=verdict, action=reply.action, checkin=None)


def _act(session: Session, *, reply: Reply, verdict: ReplyVerdict, case: Case | None, checkin: CheckIn | None,
         crm: CrmAdapter, now: datetime, received: float) -> tuple[str, str | None]:
    """What was done, and the agent a reopened case went to."""
    address = checkin.address if checkin is not None else reply.from_address
    if verdict.intent == "opt_out" and address:
        opt_out(session, address=address, channel=reply.channel, source=f"reply: {reply.text[:60]}", now=now)
        return f"opted out {reply.channel} address", None
    if case is None:
        return "unmatched: stored for a person to read", None
    if case.state == "reopened":
        return "added to the reopened case: a person already has it", None
    if verdict.intent == "resolved":
        case.state, case.loop_closed_at, case.updated_at = "closed", now, now
        return "loop closed: customer confirmed resolved", None
    if verdict.intent == "ack":
        return "acknowledged: nothing to do now", None
    return _reopen(session, case=case, reply=reply, verdict=verdict, crm=crm, now=now, received=received)


def reopen_case(session: Session, *, case: Case, reply: Reply, verdict: ReplyVerdict, crm: CrmAdapter,
                now: datetime, received: float | None = None) -> str:
    """Case reopened with the reply and reasons; a high-priority item for the same agent when they can take it."""
    return _reopen(session, case=case, reply=reply, verdict=verdict, crm=crm, now=now, received=received)[0]


def _reopen(session: Session, *, case: Case, reply: Reply, verdict: ReplyVerdict, crm: CrmAdapter,
            now: datetime, received: float | None) -> tuple[str, str | None]:
    reason = f"customer replied: “{reply.text[:200]}” — {'; '.join(verdict.reasons)}"
    case.state, case.reopened_at, case.reopen_reason, case.updated_at = "reopened", now, reason, now
    # Why they came back (followup.insights counts reopens by it): stored on the reply and, the latest, on the case.
    category = reason_category(intent=verdict.intent, reasons=verdict.reasons, text=reply.text) or "unclear"
    reply.reason_category = case.reopen_category = category
    if case.agent_id:
        wellbeing.record_negative_reply(session, agent_id=case.agent_id, reply_id=reply.id, at=now)
    routing = wellbeing.enqueue_case_item(
        session, case_id=case.id, kind="case", team=case.team, preferred_agent_id=case.agent_id, now=now,
        title=f"Reopened: {(case.category or 'case').replace('_', ' ')} — customer replied",
        details={"reply_id": reply.id, "reply": reply.text, "verdict": verdict.as_dict()})
    if received is not None:
        REOPEN_LATENCY.observe(time.perf_counter() - received)
    # A case a native connector brought in is reopened in its own desk; crm.adapter decides for the others.
    record_reopen(session, adapter=case.desk or crm.name, now=now, notice=ReopenNotice(
        case_id=case.id, reply_text=reply.text, intent=verdict.intent, confidence=verdict.confidence,
        reasons=tuple(verdict.reasons), routed_agent_id=routing.agent_id, routed_team=routing.team,
        routing_reason=routing.reason, reopened_at=now, desk_ref=case.desk_ref or ""))
    target = f"agent {routing.agent_id}" if routing.agent_id else f"team {routing.team or 'any'}"
    return f"reopened to {target} ({routing.reason})", routing.agent_id
