"""Provider webhooks: Twilio inbound SMS and status callbacks, SendGrid Inbound Parse and Event Webhook,
and the RFC 8058 one-click unsubscribe endpoint. Each verifies its sender before reading anything."""
from __future__ import annotations

import base64
import binascii
import logging
import re

from flask import Response, request
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from aftercare.core.web import db_session, runtime
from aftercare.core.problems import Problem, validation_problem
from aftercare.core.signing import safe_equals, within_replay_window
from followup.delivery_status import find_checkin, opt_out_checkin_address, record_status
from followup.inbound_email import extract_reply, reply_token_from_addresses, reply_sender, reply_trust
from aftercare.core.bodies import Blueprint, read_json
from aftercare.core.fields import column_length
from aftercare.core.page_headers import protect_page
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
ADDRESS_LENGTH = column_length(Reply.from_address, OptOut.address)  # a sender: phone number or email address
MESSAGE_ID_LENGTH = column_length(Reply.provider_message_id)
STORED = {"type": "object", "properties": {
    "status": {"type": "string", "enum": ["stored", "duplicate"]}, "reply_id": {"type": "string"},
    "matched": {"type": "boolean", "description": "the reply was tied to a check-in (and so to its case)"},
    "trusted": {"type": "boolean", "description": "a valid reply token, or SendGrid's SPF/DKIM vouched for the "
                                                  "sender's domain; an untrusted reply changes nothing"},
    "trust_reason": {"type": "string"}, "case_id": {"type": ["string", "null"]},
    "action": {"type": "string", "description": "what the reply did"}}}


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
    too_long = {name: [f"At most {limit} characters."] for name, limit in (("From", ADDRESS_LENGTH),
                                                                          ("MessageSid", MESSAGE_ID_LENGTH))
                if len(form.get(name) or "") > limit}
    if too_long:
        raise validation_problem(too_long)
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
    from aftercare.core.ids import new_id

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


# A Message-ID longer than its column is no dedupe key; the reply is still stored (as a sender too long to
# be an address is no sender): an email's headers are the sender's to write, and a refusal would only make
# SendGrid post it again for days.
MESSAGE_ID = re.compile(rf"^message-id:\s*(<[^>]{{1,{MESSAGE_ID_LENGTH - 2}}}>)", re.IGNORECASE | re.MULTILINE)


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
    trust = reply_trust(token_matched=checkin is not None, from_header=form.get("from"), spf=form.get("SPF"),
                        dkim=form.get("dkim"), envelope_json=form.get("envelope"))
    text = extract_reply(form.get("text"), form.get("html"))
    outcome = receive_reply(session, text=text or form.get("subject", ""), channel="email", now=rt.clock(),
                            crm=rt.services["crm"], checkin=checkin,
                            from_address=_fits(reply_sender(form.get("from"), form.get("envelope"))),
                            untrusted=None if trust.trusted else trust.reason,
                            min_confidence=rt.settings.followup.understanding.min_confidence)
    outcome.reply.provider_message_id = message_id
    _commit_once()
    return {"status": "stored", "reply_id": outcome.reply.id, "matched": outcome.checkin is not None,
            "trusted": trust.trusted, "trust_reason": trust.reason, "case_id": outcome.reply.case_id,
            "action": outcome.action}, 200


def _fits(sender: str) -> str | None:
    """An attacker-chosen sender too long for the column is stored as no sender, not refused: SendGrid would
    resend a refused post for days."""
    return sender if sender and len(sender) <= ADDRESS_LENGTH else None


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
        raise Problem(403, "Forbidden", "Event Webhook signature missing, invalid or outside the replay window.",
                      kind="invalid-signature")
    events = read_json(raw)
    if not isinstance(events, list):
        raise Problem(422, "Invalid request body", "Expected a JSON array of events.", kind="validation",
                      errors=[{"field": "body", "message": "Must be a JSON array."}])
    session, now = db_session(), runtime().clock()
    applied = sum(_apply_event(session, event, now) for event in events if isinstance(event, dict))
    session.commit()
    return {"applied": applied}, 200


def _event_signature_ok(raw: str) -> bool:
    """SendGrid's ECDSA signature over timestamp + body, with the timestamp inside the replay window (the
    signature alone never expires, so a captured batch could be posted again years later)."""
    settings = runtime().settings.sendgrid
    key = settings.event_public_key
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp")
    if not key or not signature or not within_replay_window(timestamp, tolerance=settings.replay_window_seconds,
                                                            now=runtime().clock().timestamp()):
        return False
    try:
        return bool(EventWebhook(key).verify_signature(raw, signature, timestamp))
    except (ValueError, TypeError, binascii.Error, base64.binascii.Error):
        return False


EVENT_STATUS = {"processed": "processed", "delivered": "delivered", "bounce": "bounce", "dropped": "dropped",
                "deferred": None}
OPT_OUT_EVENTS = {"spamreport": "marked the check-in as spam", "unsubscribe": "unsubscribed",
                  "group_unsubscribe": "unsubscribed"}


def _sendgrid_message_id(value) -> str | None:
    """The message id part of `sg_message_id` ("<id>.filter…"), or None when it is not one (a signed batch is
    still untrusted data: it must not reach the 128-character column as anything else)."""
    message_id = value.split(".")[0] if isinstance(value, str) else ""
    return message_id if 0 < len(message_id) <= CheckIn.provider_message_id.type.length else None


def _apply_event(session, event: dict, now) -> int:
    sg_id = _sendgrid_message_id(event.get("sg_message_id"))
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
        return protect_page(Response("""<!doctype html><meta charset="utf-8"><title>Unsubscribe</title>
<form method="post"><p>Stop check-in emails to this address?</p><button>Unsubscribe</button></form>""",
                                     mimetype="text/html"))
    opt_out_checkin_address(session, checkin=checkin, source="one-click unsubscribe", now=runtime().clock())
    session.commit()
    return protect_page(Response("<!doctype html><p>You are unsubscribed. We will not email you check-ins again.</p>",
                                 mimetype="text/html"))
