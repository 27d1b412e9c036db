"""What an inbound message or a provider's report does, whichever provider brought it: a customer's SMS or WhatsApp
message (a keyword, a tapped button, or a reply to read), an email reply, a delivery report, a one-click unsubscribe.

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
from followup.delivery_status import (
    find_checkin,
    opt_out_checkin_address,
    record_status,
    resend_as_template,
    superseded,
)
from followup.inbound_email import TOKEN_TRUST, ReplyTrust
from followup.keywords import KeywordAction, keyword_action
from followup.messages import acknowledgement, canned
from followup.models import Case, ChannelContact, CheckIn, OptOut, Reply
from followup.replies import receive_reply
from followup.understanding import ReplyVerdict
from followup.whatsapp_content import BUTTON_INTENTS

log = logging.getLogger("aftercare.inbound")


def already_seen(session: Session, provider_message_id: str | None) -> bool:
    """A provider's retry of a message we stored (Twilio's MessageSid, an email's Message-ID)."""
    return bool(provider_message_id) and session.scalars(
        select(Reply.id).where(Reply.provider_message_id == provider_message_id)).first() is not None


@dataclass(frozen=True)
class InboundText:
    """A customer's message on a texting channel (SMS, WhatsApp) as the provider's webhook read it."""

    channel: str  # "sms" | "whatsapp"
    sender: str
    body: str
    message_sid: str | None
    button: str | None = None  # the payload of a quick-reply button the customer tapped (WhatsApp)
    profile_name: str | None = None  # the name the customer's WhatsApp profile shows
    provider_user_id: str | None = None  # WhatsApp's id for the customer (WaId)
    replied_to: str | None = None  # the provider's id of the message this one answers (OriginalRepliedMessageSid)


KEYWORD_SOURCE = {"sms": "SMS keyword", "whatsapp": "WhatsApp keyword"}


def receive_sms(uow: UnitOfWork, *, sender: str, body: str, message_sid: str | None, now: datetime,
                crm: CrmAdapter, ctx: FollowupContext, acknowledge: bool) -> str | None:
    """A customer's text: STOP/START/HELP act at once; anything else is read as a reply to their latest check-in.
    Returns what to text back (help text, or an acknowledgement that says truthfully what happens next)."""
    return receive_text(uow, message=InboundText("sms", sender, body, message_sid), now=now, crm=crm, ctx=ctx,
                        acknowledge=acknowledge)


def receive_message(uow: UnitOfWork, *, message: InboundText, now: datetime, crm: CrmAdapter, ctx: FollowupContext,
                    acknowledge: bool) -> str | None:
    """A customer's message on whichever texting channel brought it (what a webhook and a spool replay call)."""
    receive = receive_whatsapp if message.channel == "whatsapp" else receive_text
    return receive(uow, message=message, now=now, crm=crm, ctx=ctx, acknowledge=acknowledge)


def receive_whatsapp(uow: UnitOfWork, *, message: InboundText, now: datetime, crm: CrmAdapter, ctx: FollowupContext,
                     acknowledge: bool) -> str | None:
    """A customer's WhatsApp message: it opens (or keeps open) the 24-hour window for free text and is kept with the
    profile name; a tapped button is the answer itself; otherwise it is read like a text."""
    if already_seen(uow.session, message.message_sid):
        return None
    note_inbound(uow.session, message, now=now)
    return receive_text(uow, message=message, now=now, crm=crm, ctx=ctx, acknowledge=acknowledge)


def note_inbound(session: Session, message: InboundText, *, now: datetime) -> None:
    """When this address last wrote to us (never moved back by a late retry), and who its profile says it is."""
    contact = session.get(ChannelContact, message.sender)
    if contact is None:
        contact = ChannelContact(address=message.sender, channel=message.channel, last_inbound_at=now)
        session.add(contact)
    contact.last_inbound_at = max(contact.last_inbound_at, now)
    contact.profile_name = message.profile_name or contact.profile_name
    contact.provider_user_id = message.provider_user_id or contact.provider_user_id
    contact.updated_at = now


def button_verdict(payload: str | None) -> ReplyVerdict | None:
    """A tapped quick-reply button is an unambiguous answer: no reading needed."""
    intent = BUTTON_INTENTS.get(payload or "")
    return ReplyVerdict(intent, 1.0, ("button",)) if intent else None


def receive_text(uow: UnitOfWork, *, message: InboundText, now: datetime, crm: CrmAdapter, ctx: FollowupContext,
                 acknowledge: bool) -> str | None:
    """Keywords act at once (carrier SMS keywords such as CANCEL or END only on SMS); a button or any other text is
    a reply to the sender's latest check-in. Returns what to answer, or None."""
    session, settings, sender, body = uow.session, ctx.settings.followup, message.sender, message.body
    if already_seen(session, message.message_sid):
        return None
    verdict = button_verdict(message.button)
    action = None if verdict else keyword_action(body, opted_out=session.get(OptOut, sender) is not None,
                                                 carrier=message.channel == "sms")
    checkin = _answered_checkin(session, message) or latest_open_checkin(session, sender, now)
    case = session.get(Case, checkin.case_id) if checkin else None
    agent_name, locale = (case.agent_name if case else None), (checkin.locale if checkin else None)
    source, answer = KEYWORD_SOURCE[message.channel], None
    if action == KeywordAction.OPT_OUT:
        opt_out(session, address=sender, channel=message.channel, source=f"{source}: {body.strip()[:40]}", now=now)
        _store_keyword(session, message, checkin, "opt_out", f"opted out by {source}", now)
    elif action == KeywordAction.OPT_IN:
        opt_in(session, address=sender)
        _store_keyword(session, message, checkin, "ack", f"opted back in by {source}", now)
    elif action == KeywordAction.HELP:
        _store_keyword(session, message, checkin, "ack", "asked for help: help text sent", now)
        answer = canned("help", locale=locale, agent_name=agent_name, company=settings.company_name)
    else:
        outcome = receive_reply(session, text=body, channel=message.channel, now=now, crm=crm, checkin=checkin,
                                from_address=sender, verdict=verdict,
                                min_confidence=settings.understanding.min_confidence)
        outcome.reply.provider_message_id = message.message_sid
        if acknowledge and checkin is not None:
            answer = acknowledgement(outcome.action, routed_agent_id=outcome.routed_agent_id,
                                     case_agent_id=case.agent_id if case else None, locale=locale,
                                     agent_name=agent_name, company=settings.company_name)
    return answer if commit_once(uow) else None


def _answered_checkin(session: Session, message: InboundText) -> CheckIn | None:
    """The check-in this message quotes (a tapped button names the template it belongs to), if it went to the sender."""
    if not message.replied_to:
        return None
    return session.scalars(select(CheckIn).where(CheckIn.provider_message_id == message.replied_to,
                                                 CheckIn.address == message.sender)).first()


def _store_keyword(session: Session, message: InboundText, checkin: CheckIn | None, intent: str, action: str,
                   now: datetime) -> None:
    """Keywords are replies too: kept on the record, without classifying them."""
    session.add(Reply(id=new_id("rep"), checkin_id=checkin.id if checkin else None,
                      case_id=checkin.case_id if checkin else None, channel=message.channel,
                      from_address=message.sender, text=message.body, intent=intent, confidence=1.0,
                      reasons=[KEYWORD_SOURCE[message.channel]], action=action,
                      provider_message_id=message.message_sid, received_at=now))


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
    window_closed: bool = False  # free text refused outside the customer-service window (WhatsApp 63016)


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
        if superseded(checkin, report.provider_message_id):
            log.info("delivery report for %s, which check-in %s replaced with its template", report.provider_message_id,
                     checkin.id)
            continue
        if report.window_closed:
            resend_as_template(uow.session, checkin=checkin, now=now, reason=report.reason)
        elif report.status:
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
