"""SendGrid's webhooks for the email channel: Inbound Parse (a customer's reply; basic auth or a URL secret), the
Event Webhook (delivery reports; ECDSA-signed, with a replay window) and the RFC 8058 one-click unsubscribe page
the emails link to. Each verifies its caller before reading anything; what a reply or a report does is decided by
`followup.inbound`; a reply that cannot reach the database is spooled (`followup.inbound_spool`)."""
from __future__ import annotations

import base64
import binascii
import re

from flask import Response, request
from sendgrid.helpers.eventwebhook import EventWebhook

from aftercare.core.bodies import Blueprint, read_json
from aftercare.core.db import column_length, storable_form
from aftercare.core.page_headers import protect_page
from aftercare.core.problems import Problem
from aftercare.core.signing import safe_equals, within_replay_window
from aftercare.core.spool import SpoolEntry
from aftercare.core.unit_of_work import SessionUnitOfWork
from aftercare.core.web import db_session, form_request_body, ok_response, problem_doc, runtime
from followup import inbound
from followup.inbound_email import extract_reply, reply_sender, reply_token_from_addresses, sender_trust
from followup.inbound_spool import EMAIL, act_or_spool, email_data
from followup.models import CheckIn, OptOut, Reply

blp = Blueprint("sendgrid_webhooks", __name__, description="SendGrid email webhooks and the unsubscribe page")
ADDRESS_LENGTH = column_length(Reply.from_address, OptOut.address)
MESSAGE_ID_LENGTH = column_length(Reply.provider_message_id)
STORED = {"type": "object", "properties": {
    "status": {"type": "string", "enum": ["stored", "duplicate", "spooled"],
               "description": "spooled: the database was unreachable; kept on disk and stored when it is back"},
    "reply_id": {"type": "string"}, "spool_id": {"type": "string"},
    "matched": {"type": "boolean", "description": "the reply was tied to a check-in (and so to its case)"},
    "trusted": {"type": "boolean", "description": "a valid reply token, or SendGrid's SPF/DKIM vouched for the "
                                                  "sender's domain; an untrusted reply changes nothing"},
    "trust_reason": {"type": "string"}, "case_id": {"type": ["string", "null"]},
    "action": {"type": "string", "description": "what the reply did"}}}
# A Message-ID longer than its column is no dedupe key; the reply is still stored (as a sender too long to be an
# address is no sender): an email's headers are the sender's to write, and a refusal would only make SendGrid
# post it again for days.
MESSAGE_ID = re.compile(rf"^message-id:\s*(<[^>]{{1,{MESSAGE_ID_LENGTH - 2}}}>)", re.IGNORECASE | re.MULTILINE)
EVENT_STATUS = {"processed": "processed", "delivered": "delivered", "bounce": "bounce", "dropped": "dropped"}
OPT_OUT_EVENTS = {"spamreport": "marked the check-in as spam", "unsubscribe": "unsubscribed",
                  "group_unsubscribe": "unsubscribed"}


def _inbound_authorised() -> bool:
    s = runtime().settings.sendgrid
    if s.inbound_user and s.inbound_password:
        auth = request.authorization
        if auth and safe_equals(auth.username, s.inbound_user) and \
                safe_equals(auth.password, s.inbound_password.reveal()):
            return True
    secret = s.inbound_url_secret.reveal()
    return bool(secret) and safe_equals(request.args.get("key", ""), secret)


def _fits(sender: str) -> str | None:
    """An attacker-chosen sender too long for the column is stored as no sender, not refused: SendGrid would
    resend a refused post for days."""
    return sender if sender and len(sender) <= ADDRESS_LENGTH else None


@blp.route("/webhooks/sendgrid/inbound", methods=["POST"])
@blp.doc(summary="SendGrid Inbound Parse (multipart); basic auth or ?key=<secret>",
         security=[{"sendgridInbound": []}],
         parameters=[{"in": "query", "name": "key", "required": False, "schema": {"type": "string"}}],
         requestBody=form_request_body("multipart/form-data", "from", "to", "subject", "text", "html", "envelope",
                                       "headers"),
         responses={"200": ok_response("application/json", "Stored (always, matched or not), a duplicate, or "
                                                           "spooled while the database is unreachable", STORED),
                    "401": "UNAUTHORIZED",
                    "503": problem_doc("The database is unreachable and the spool cannot be written")})
def sendgrid_inbound():
    if not _inbound_authorised():
        raise Problem(401, "Unauthorized", "Inbound Parse needs the configured basic auth or URL secret.",
                      kind="unauthorized", headers={"WWW-Authenticate": 'Basic realm="inbound"'})
    rt, form = runtime(), storable_form(request.form)
    email = inbound.InboundEmail(
        text=extract_reply(form.get("text"), form.get("html")) or form.get("subject", ""),
        sender=_fits(reply_sender(form.get("from"), form.get("envelope"))),
        message_id=(m.group(1) if (m := MESSAGE_ID.search(form.get("headers", ""))) else None),
        reply_token=reply_token_from_addresses(form.get("to"), form.get("envelope"),
                                               rt.settings.sendgrid.inbound_domain),
        sender_trust=sender_trust(form.get("from"), spf=form.get("SPF"), dkim=form.get("dkim"),
                                  envelope_json=form.get("envelope")))
    now = rt.clock()
    answer = act_or_spool(rt.services["spool"], lambda: inbound.receive_email(
        SessionUnitOfWork(db_session()), email=email, now=now, crm=rt.services["crm"], ctx=rt.followup),
        kind=EMAIL, data=email_data(email), now=now, retry_after=rt.settings.server.outage_retry_after_seconds)
    return ({"status": "spooled", "spool_id": answer.id} if isinstance(answer, SpoolEntry) else answer), 200


@blp.route("/webhooks/sendgrid/events", methods=["POST"])
@blp.doc(summary="SendGrid Event Webhook (ECDSA-signed)", security=[{"sendgridEventSignature": []}],
         parameters=[{"in": "header", "name": "X-Twilio-Email-Event-Webhook-Timestamp", "required": False,
                      "schema": {"type": "string"}}],
         requestBody={"required": True, "content": {"application/json": {"schema": {
             "type": "array", "items": {"type": "object", "properties": {
                 "event": {"type": "string"}, "sg_message_id": {"type": "string"}, "checkin_id": {"type": "string"},
                 "reason": {"type": "string"}}}}}}},
         responses={"200": ok_response("application/json", "Events applied", {
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
    reports = [report for event in events if isinstance(event, dict) and (report := _report(event))]
    return {"applied": inbound.record_deliveries(SessionUnitOfWork(db_session()), reports,
                                                 now=runtime().clock())}, 200


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


def _sendgrid_message_id(value) -> str | None:
    """The message id part of `sg_message_id` ("<id>.filter…"), or None when it is not one (a signed batch is
    still untrusted data: it must not reach the 128-character column as anything else)."""
    message_id = value.split(".")[0] if isinstance(value, str) else ""
    return message_id if 0 < len(message_id) <= CheckIn.provider_message_id.type.length else None


def _report(event: dict) -> inbound.DeliveryReport | None:
    """One SendGrid event as a delivery report; kinds we do not track (deferred, open, click) are none."""
    kind = event.get("event") if isinstance(event.get("event"), str) else None
    checkin_id = event.get("checkin_id") if isinstance(event.get("checkin_id"), str) else None
    message_id = _sendgrid_message_id(event.get("sg_message_id"))
    if kind in OPT_OUT_EVENTS:
        return inbound.DeliveryReport(checkin_id, message_id, None, kind, unsubscribed=f"SendGrid: {OPT_OUT_EVENTS[kind]}")
    if kind in EVENT_STATUS:
        reason = f"{kind}: {event.get('reason') or event.get('response') or ''}".strip(": ")
        return inbound.DeliveryReport(checkin_id, message_id, EVENT_STATUS[kind], reason)
    return None


@blp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@blp.doc(summary="One-click unsubscribe (RFC 8058): POST opts the address out; GET shows a button",
         responses={"200": ok_response("text/html", "A confirmation button (GET) or page (POST)")})
def unsubscribe(token: str):
    checkin = inbound.checkin_for_token(db_session(), token)
    if checkin is None:
        raise Problem(404, "Not Found", "This unsubscribe link is not known.", kind="not-found")
    if request.method == "GET":
        return protect_page(Response("""<!doctype html><meta charset="utf-8"><title>Unsubscribe</title>
<form method="post"><p>Stop check-in emails to this address?</p><button>Unsubscribe</button></form>""",
                                     mimetype="text/html"))
    inbound.unsubscribe(SessionUnitOfWork(db_session()), checkin=checkin, now=runtime().clock())
    return protect_page(Response("<!doctype html><p>You are unsubscribed. We will not email you check-ins again.</p>",
                                 mimetype="text/html"))
