"""What an inbound message or a provider's report does, whichever provider brought it: a customer's SMS (a carrier
keyword, or a reply to read), an email reply, a delivery report, a one-click unsubscribe.

The provider's webhook (in `followup.channels`) verifies the sender and reads the provider's format; these use
cases decide and store, each in one unit of work that they commit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.core.ids import new_id
from aftercare.core.problems import Problem
from aftercare.core.unit_of_work import UnitOfWork, commit_once
from followup.checkins import FollowupContext, latest_open_checkin, opt_in, opt_out
from followup.crm import CrmAdapter
from followup.delivery_status import find_checkin, opt_out_checkin_address, record_status
from followup.inbound_email import TOKEN_TRUST, ReplyTrust
from followup.keywords import KeywordAction, keyword_action
from followup.messages import acknowledgement, canned
from followup.models import Case, CheckIn, OptOut, Reply
from followup.replies import receive_reply

log = logging.getLogger("aftercare.inbound")


def already_seen(session: Session, provider_message_id: str | None) -> bool:
    """A provider's retry of a message we stored (Twilio's MessageSid, an email's Message-ID)."""
    return bool(provider_message_id) and session.scalars(
        select(Reply.id).where(Reply.provider_message_id == provider_message_id)).first() is not None


def receive_sms(uow: UnitOfWork, *, sender: str, body: str, message_sid: str | None, now: datetime,
                crm: CrmAdapter, ctx: FollowupContext, acknowledge: bool) -> str | None:
    """A customer's text: STOP/START/HELP act at once; anything else is read as a reply to their latest check-in.
    Returns what to text back (help text, or an acknowledgement that says truthfully what happens next)."""
    session, settings = uow.session, ctx.settings.followup
    if already_seen(session, message_sid):
        return None
    action = keyword_action(body, opted_out=session.get(OptOut, sender) is not None)
    checkin = latest_open_checkin(session, sender, now)
    case = session.get(Case, checkin.case_id) if checkin else None
    agent_name, locale = (case.agent_name if case else None), (checkin.locale if checkin else None)
    answer = None
    if action == KeywordAction.OPT_OUT:
        opt_out(session, address=sender, channel="sms", source=f"SMS keyword: {body.strip()[:40]}", now=now)
        _store_keyword(session, sender, body, message_sid, checkin, "opt_out", "opted out by SMS keyword", now)
    elif action == KeywordAction.OPT_IN:
        opt_in(session, address=sender)
        _store_keyword(session, sender, body, message_sid, checkin, "ack", "opted back in by SMS keyword", now)
    elif action == KeywordAction.HELP:
        _store_keyword(session, sender, body, message_sid, checkin, "ack", "asked for help: help text sent", now)
        answer = canned("help", locale=locale, agent_name=agent_name, company=settings.company_name)
    else:
        outcome = receive_reply(session, text=body, channel="sms", now=now, crm=crm, checkin=checkin,
                                from_address=sender, min_confidence=settings.understanding.min_confidence)
        outcome.reply.provider_message_id = message_sid
        if acknowledge and checkin is not None:
            answer = acknowledgement(outcome.action, routed_agent_id=outcome.routed_agent_id,
                                     case_agent_id=case.agent_id if case else None, locale=locale,
                                     agent_name=agent_name, company=settings.company_name)
    return answer if commit_once(uow) else None


def _store_keyword(session: Session, sender: str, body: str, sid: str | None, checkin: CheckIn | None, intent: str,
                   action: str, now: datetime) -> None:
    """Keywords are replies too: kept on the record, without classifying them."""
    session.add(Reply(id=new_id("rep"), checkin_id=checkin.id if checkin else None,
                      case_id=checkin.case_id if checkin else None, channel="sms", from_address=sender, text=body,
                      intent=intent, confidence=1.0, reasons=["carrier keyword"], action=action,
                      provider_message_id=sid, received_at=now))


@dataclass(frozen=True)
class InboundEmail:
    """An email reply as the provider parsed it: its text, who sent it, its reply token, and the provider's verdict
    on the sender's domain (SendGrid's SPF/DKIM), which counts when the token names no check-in (SPEC §8)."""

    text: str
    sender: str | None
    message_id: str | None
    reply_token: str | None
    sender_trust: ReplyTrust


def checkin_for_token(session: Session, token: str | None) -> CheckIn | None:
    return session.scalars(select(CheckIn).where(CheckIn.reply_token == token)).first() if token else None


def receive_email(uow: UnitOfWork, *, email: InboundEmail, now: datetime, crm: CrmAdapter,
                  ctx: FollowupContext) -> dict:
    """Stored always (never lost); it acts on a case only when trusted, otherwise it waits for a person."""
    session = uow.session
    if already_seen(session, email.message_id):
        return {"status": "duplicate"}
    checkin = checkin_for_token(session, email.reply_token)
    trust = TOKEN_TRUST if checkin is not None else email.sender_trust
    outcome = receive_reply(session, text=email.text, channel="email", now=now, crm=crm, checkin=checkin,
                            from_address=email.sender, untrusted=None if trust.trusted else trust.reason,
                            min_confidence=ctx.settings.followup.understanding.min_confidence)
    outcome.reply.provider_message_id = email.message_id
    if not commit_once(uow):
        return {"status": "duplicate"}
    return {"status": "stored", "reply_id": outcome.reply.id, "matched": outcome.checkin is not None,
            "trusted": trust.trusted, "trust_reason": trust.reason, "case_id": outcome.reply.case_id,
            "action": outcome.action}


@dataclass(frozen=True)
class DeliveryReport:
    """A provider's word on one message: its new status (or none), and whether the recipient asked to stop."""

    checkin_id: str | None
    provider_message_id: str | None
    status: str | None
    reason: str
    unsubscribed: str | None = None  # why the address opts out (spam report, unsubscribe, Twilio 21610)


def record_deliveries(uow: UnitOfWork, reports: list[DeliveryReport], *, now: datetime) -> int:
    """Apply a batch of reports in one transaction; reports for messages that are not ours are logged and
    skipped. Returns how many applied."""
    applied = 0
    for report in reports:
        checkin = find_checkin(uow.session, checkin_id=report.checkin_id,
                               provider_message_id=report.provider_message_id)
        if checkin is None:
            log.warning("delivery report for an unknown message %s", report.provider_message_id)
            continue
        if report.status:
            record_status(uow.session, checkin=checkin, status=report.status, now=now,
                          provider_message_id=report.provider_message_id, reason=report.reason)
        if report.unsubscribed:
            opt_out_checkin_address(uow.session, checkin=checkin, source=report.unsubscribed, now=now)
        applied += 1
    uow.commit()
    return applied


def unsubscribe(uow: UnitOfWork, *, checkin: CheckIn, now: datetime) -> None:
    """RFC 8058 one-click: the address that check-in went to is never emailed a check-in again."""
    opt_out_checkin_address(uow.session, checkin=checkin, source="one-click unsubscribe", now=now)
    uow.commit()


def simulate_reply(uow: UnitOfWork, *, checkin: CheckIn, text: str, now: datetime, crm: CrmAdapter,
                   ctx: FollowupContext) -> dict:
    """SIMULATION (console channel only): a customer's reply injected by a tester, read like a real one."""
    if checkin.provider != "console":
        raise Problem(409, "Conflict", f"Check-in goes through {checkin.provider}; replies come from the customer.",
                      kind="not-simulated")
    if checkin.state not in ("sent", "delivered", "replied"):
        raise Problem(409, "Conflict", f"Check-in is {checkin.state}; it has not been sent yet.", kind="conflict")
    outcome = receive_reply(uow.session, text=text, channel=checkin.channel, now=now, crm=crm, checkin=checkin,
                            from_address=checkin.address,
                            min_confidence=ctx.settings.followup.understanding.min_confidence)
    uow.commit()
    return outcome.as_dict()
