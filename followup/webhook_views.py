"""Provider webhooks: Twilio inbound SMS and status callbacks, SendGrid Inbound Parse and Event Webhook,
and the RFC 8058 one-click unsubscribe endpoint. Each verifies its sender before reading anything."""
from __future__ import annotations

import base64
import binascii
import json
import logging
import re

from flask import Response, request
from flask_smorest import Blueprint
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from aftercare.app import db_session, runtime
from aftercare.errors import Problem
from aftercare.signing import safe_equals
from followup.delivery import find_checkin, opt_out_checkin_address, record_status
from followup.inbound_email import extract_reply, reply_token_from_addresses
from followup.keywords import KeywordAction, keyword_action
from followup.messages import acknowledgement, canned
from followup.models import Case, CheckIn, OptOut, Reply
from followup.replies import receive_reply
from followup.services import latest_open_checkin, opt_in, opt_out
from followup.understanding import ReplyVerdict

log = logging.getLogger("aftercare.webhooks")
blp = Blueprint("provider_webhooks", __name__, description="Twilio and SendGrid webhooks (signed by the provider)")


def _form(media_type: str, *names: str, required: tuple[str, ...] = ()) -> dict:
    """OpenAPI request body: a provider's form fields (all strings; others are ignored)."""
    schema = {"type": "object", "properties": {name: {"type": "string"} for name in names}}
    if required:
        schema["required"] = list(required)
    return {"required": True, "content": {media_type: {"schema": schema}}}


def _ok(media_type: str, description: str, schema: dict | None = None) -> dict:
    return {"description": description, "content": {media_type: {"schema": schema or {"type": "string"}}}}


TWILIO_FORM = "application/x-www-form-urlencoded"
STORED = {"type": "object", "properties": {"status": {"type": "string", "enum": ["stored", "duplicate"]},
                                           "reply_id": {"type": "string"}, "matched": {"type": "boolean"}}}


def _twilio_verified() -> dict:
    settings = runtime().settings
    url = settings.server.public_base_url.rstrip("/") + request.full_path.rstrip("?")
    form = request.form.to_dict()
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.twilio.auth_token.reveal()
    if not token or not signature or not RequestValidator(token).validate(url, form, signature):
        raise Problem(403, "Forbidden", "X-Twilio-Signature missing or invalid for this URL.", kind="invalid-signature")
    return form


def _twiml(text: str | None = None) -> Response:
    twiml = MessagingResponse()
    if text:
        twiml.message(text)
    return Response(str(twiml), mimetype="application/xml")


def _already_seen(provider_message_id: str | None) -> bool:
    return bool(provider_message_id) and db_session().scalars(
        select(Reply.id).where(Reply.provider_message_id == provider_message_id)).first() is not None


@blp.route("/webhooks/twilio/sms", methods=["POST"])
@blp.doc(summary="Twilio inbound SMS (signed with X-Twilio-Signature); answers TwiML",
         security=[{"twilioSignature": []}],
         requestBody=_form(TWILIO_FORM, "From", "To", "Body", "MessageSid", "AccountSid", required=("From",)),
         responses={"200": _ok("application/xml", "TwiML: an acknowledgement or help text, or nothing"),
                    "403": "FORBIDDEN", "422": "UNPROCESSABLE_ENTITY"})
def twilio_inbound_sms():
    form = _twilio_verified()
    sender, body, sid = form.get("From", ""), form.get("Body", ""), form.get("MessageSid")
    if not sender:
        raise Problem(422, "Invalid request body", "From is required.", kind="validation",
                      errors=[{"field": "From", "message": "Missing data for required field."}])
    session, rt = db_session(), runtime()
    if _already_seen(sid):
        return _twiml()
    now, company = rt.clock(), rt.settings.followup.company_name
    opted_out = session.get(OptOut, sender) is not None
    action = keyword_action(body, opted_out=opted_out)
    checkin = latest_open_checkin(session, sender, now)
    case = session.get(Case, checkin.case_id) if checkin else None
    agent_name, locale = (case.agent_name if case else None), (checkin.locale if checkin else None)
    answer = None
    if action == KeywordAction.OPT_OUT:
        opt_out(session, address=sender, channel="sms", source=f"SMS keyword: {body.strip()[:40]}", now=now)
        _store_keyword(sender, body, sid, checkin, "opt_out", "opted out by SMS keyword", now)
    elif action == KeywordAction.OPT_IN:
        opt_in(session, address=sender)
        _store_keyword(sender, body, sid, checkin, "ack", "opted back in by SMS keyword", now)
    elif action == KeywordAction.HELP:
        _store_keyword(sender, body, sid, checkin, "ack", "asked for help: help text sent", now)
        answer = canned("help", locale=locale, agent_name=agent_name, company=company)
    else:
        outcome = receive_reply(session, text=body, channel="sms", now=now, crm=rt.services["crm"],
                                checkin=checkin, from_address=sender,
                                min_confidence=rt.settings.followup.understanding.min_confidence)
        outcome.reply.provider_message_id = sid
        if rt.settings.twilio.reply_acknowledgement and checkin is not None:
            answer = acknowledgement(outcome.action, routed_agent_id=outcome.routed_agent_id,
                                     case_agent_id=case.agent_id if case else None, locale=locale,
                                     agent_name=agent_name, company=company)
    _commit_once()
    return _twiml(answer)


def _store_keyword(sender: str, body: str, sid: str | None, checkin: CheckIn | None, intent: str, action: str,
                   now) -> None:
    """Keywords are replies too: kept on the record, without classifying them."""
    from aftercare.db import new_id

    db_session().add(Reply(id=new_id("rep"), checkin_id=checkin.id if checkin else None,
                           case_id=checkin.case_id if checkin else None, channel="sms", from_address=sender,
                           text=body, intent=intent, confidence=1.0, reasons=["carrier keyword"], action=action,
                           provider_message_id=sid, received_at=now))


def _commit_once() -> None:
    """A provider retry racing the first delivery of the same message changes nothing."""
    try:
        db_session().commit()
    except IntegrityError:
        db_session().rollback()


@blp.route("/webhooks/twilio/status", methods=["POST"])
@blp.doc(summary="Twilio delivery status callback (signed); ?checkin=<id> ties it to our check-in",
         security=[{"twilioSignature": []}],
         parameters=[{"in": "query", "name": "checkin", "required": False, "schema": {"type": "string"}}],
         requestBody=_form(TWILIO_FORM, "MessageSid", "MessageStatus", "ErrorCode", "To", "From"),
         responses={"204": {"description": "Recorded (or an unknown message, logged)"}, "403": "FORBIDDEN"})
def twilio_status():
    form = _twilio_verified()
    session, now = db_session(), runtime().clock()
    checkin = find_checkin(session, checkin_id=request.args.get("checkin"),
                           provider_message_id=form.get("MessageSid"))
    if checkin is None:
        log.warning("status callback for an unknown message %s", form.get("MessageSid"))
        return Response(status=204)
    status, code = form.get("MessageStatus", ""), form.get("ErrorCode")
    reason = f"{status} (Twilio error {code})" if code else status
    record_status(session, checkin=checkin, status=status, now=now, provider_message_id=form.get("MessageSid"),
                  reason=reason)
    if code == "21610":
        opt_out_checkin_address(session, checkin=checkin, source="Twilio 21610: recipient unsubscribed", now=now)
    session.commit()
    return Response(status=204)


def _inbound_authorised() -> bool:
    s = runtime().settings.sendgrid
    if s.inbound_user and s.inbound_password:
        auth = request.authorization
        if auth and safe_equals(auth.username, s.inbound_user) and \
                safe_equals(auth.password, s.inbound_password.reveal()):
            return True
    secret = s.inbound_url_secret.reveal()
    return bool(secret) and safe_equals(request.args.get("key", ""), secret)


MESSAGE_ID = re.compile(r"^message-id:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


@blp.route("/webhooks/sendgrid/inbound", methods=["POST"])
@blp.doc(summary="SendGrid Inbound Parse (multipart); basic auth or ?key=<secret>",
         security=[{"sendgridInbound": []}],
         parameters=[{"in": "query", "name": "key", "required": False, "schema": {"type": "string"}}],
         requestBody=_form("multipart/form-data", "from", "to", "subject", "text", "html", "envelope", "headers"),
         responses={"200": _ok("application/json", "Stored (always, matched or not) or a duplicate", STORED),
                    "401": "UNAUTHORIZED"})
def sendgrid_inbound():
    if not _inbound_authorised():
        raise Problem(401, "Unauthorized", "Inbound Parse needs the configured basic auth or URL secret.",
                      kind="unauthorized", headers={"WWW-Authenticate": 'Basic realm="inbound"'})
    session, rt = db_session(), runtime()
    form = request.form
    message_id = (m.group(1) if (m := MESSAGE_ID.search(form.get("headers", ""))) else None)
    if _already_seen(message_id):
        return {"status": "duplicate"}, 200
    token = reply_token_from_addresses(form.get("to"), form.get("envelope"), rt.settings.sendgrid.inbound_domain)
    checkin = session.scalars(select(CheckIn).where(CheckIn.reply_token == token)).first() if token else None
    sender = _sender_address(form.get("from", ""), form.get("envelope"))
    text = extract_reply(form.get("text"), form.get("html"))
    outcome = receive_reply(session, text=text or form.get("subject", ""), channel="email", now=rt.clock(),
                            crm=rt.services["crm"], checkin=checkin, from_address=sender or None,
                            min_confidence=rt.settings.followup.understanding.min_confidence)
    outcome.reply.provider_message_id = message_id
    _commit_once()
    return {"status": "stored", "reply_id": outcome.reply.id, "matched": checkin is not None}, 200


def _sender_address(from_header: str, envelope: str | None) -> str:
    from email.utils import parseaddr

    address = parseaddr(from_header)[1]
    if not address and envelope:
        try:
            address = json.loads(envelope).get("from", "")
        except (ValueError, AttributeError):
            address = ""
    return address.lower()


@blp.route("/webhooks/sendgrid/events", methods=["POST"])
@blp.doc(summary="SendGrid Event Webhook (ECDSA-signed)", security=[{"sendgridEventSignature": []}],
         parameters=[{"in": "header", "name": "X-Twilio-Email-Event-Webhook-Timestamp", "required": False,
                      "schema": {"type": "string"}}],
         requestBody={"required": True, "content": {"application/json": {"schema": {
             "type": "array", "items": {"type": "object", "properties": {
                 "event": {"type": "string"}, "sg_message_id": {"type": "string"}, "checkin_id": {"type": "string"},
                 "reason": {"type": "string"}}}}}}},
         responses={"200": _ok("application/json", "Events applied", {
             "type": "object", "properties": {"applied": {"type": "integer"}}, "required": ["applied"]}),
             "400": "BAD_REQUEST", "403": "FORBIDDEN", "422": "UNPROCESSABLE_ENTITY"})
def sendgrid_events():
    raw = request.get_data(as_text=True)
    if not _event_signature_ok(raw):
        raise Problem(403, "Forbidden", "Event Webhook signature missing or invalid.", kind="invalid-signature")
    try:
        events = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Problem(400, "Malformed JSON", str(exc), kind="malformed-json") from exc
    if not isinstance(events, list):
        raise Problem(422, "Invalid request body", "Expected a JSON array of events.", kind="validation",
                      errors=[{"field": "body", "message": "Must be a JSON array."}])
    session, now = db_session(), runtime().clock()
    applied = sum(_apply_event(session, event, now) for event in events if isinstance(event, dict))
    session.commit()
    return {"applied": applied}, 200


def _event_signature_ok(raw: str) -> bool:
    key = runtime().settings.sendgrid.event_public_key
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp")
    if not key or not signature or not timestamp:
        return False
    try:
        return bool(EventWebhook(key).verify_signature(raw, signature, timestamp))
    except (ValueError, TypeError, binascii.Error, base64.binascii.Error):
        return False


EVENT_STATUS = {"processed": "processed", "delivered": "delivered", "bounce": "bounce", "dropped": "dropped",
                "deferred": None}
OPT_OUT_EVENTS = {"spamreport": "marked the check-in as spam", "unsubscribe": "unsubscribed",
                  "group_unsubscribe": "unsubscribed"}


def _apply_event(session, event: dict, now) -> int:
    sg_id = str(event.get("sg_message_id", "")).split(".")[0] or None
    checkin = find_checkin(session, checkin_id=event.get("checkin_id"), provider_message_id=sg_id)
    kind = event.get("event") if isinstance(event.get("event"), str) else None
    if checkin is None:
        return 0
    if kind in OPT_OUT_EVENTS:
        opt_out_checkin_address(session, checkin=checkin, source=f"SendGrid: {OPT_OUT_EVENTS[kind]}", now=now)
        return 1
    status = EVENT_STATUS.get(kind)
    if not status:
        return 0
    reason = f"{kind}: {event.get('reason') or event.get('response') or ''}".strip(": ")
    record_status(session, checkin=checkin, status=status, now=now, provider_message_id=sg_id, reason=reason)
    return 1


@blp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@blp.doc(summary="One-click unsubscribe (RFC 8058): POST opts the address out; GET shows a button",
         responses={"200": _ok("text/html", "A confirmation button (GET) or page (POST)")})
def unsubscribe(token: str):
    session = db_session()
    checkin = session.scalars(select(CheckIn).where(CheckIn.reply_token == token)).first()
    if checkin is None:
        raise Problem(404, "Not Found", "This unsubscribe link is not known.", kind="not-found")
    if request.method == "GET":
        return Response(f"""<!doctype html><meta charset="utf-8"><title>Unsubscribe</title>
<form method="post"><p>Stop check-in emails to this address?</p><button>Unsubscribe</button></form>""",
                        mimetype="text/html")
    opt_out_checkin_address(session, checkin=checkin, source="one-click unsubscribe", now=runtime().clock())
    session.commit()
    return Response("<!doctype html><p>You are unsubscribed. We will not email you check-ins again.</p>",
                    mimetype="text/html")
