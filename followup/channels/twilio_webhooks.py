"""Twilio's webhooks for the SMS channel: inbound texts (answered with TwiML) and delivery status callbacks.
Each is verified with `X-Twilio-Signature` before anything is read; what a text or a report does is decided by
`followup.inbound`. While the database is unreachable an inbound text is kept in the spool (`followup.inbound_spool`)
and answered with empty TwiML: Twilio never retries it."""
from __future__ import annotations

from flask import Response, request
from twilio.twiml.messaging_response import MessagingResponse

from aftercare.core.bodies import Blueprint
from aftercare.core.db import column_length, storable_form
from aftercare.core.problems import Problem, validation_problem
from aftercare.core.spool import SpoolEntry
from aftercare.core.twilio_signature import verified_twilio_form
from aftercare.core.unit_of_work import SessionUnitOfWork
from aftercare.core.web import db_session, form_request_body, ok_response, problem_doc, runtime
from followup import inbound
from followup.inbound_spool import SMS, act_or_spool, sms_data
from followup.models import OptOut, Reply

blp = Blueprint("twilio_webhooks", __name__, description="Twilio SMS webhooks (signed with X-Twilio-Signature)")
TWILIO_FORM = "application/x-www-form-urlencoded"
ADDRESS_LENGTH = column_length(Reply.from_address, OptOut.address)  # a sender: phone number or email address
MESSAGE_ID_LENGTH = column_length(Reply.provider_message_id)
UNSUBSCRIBED = "21610"  # Twilio: the recipient replied STOP to this sender


def _verified() -> dict:
    settings = runtime().settings
    return storable_form(verified_twilio_form(auth_token=settings.twilio.auth_token.reveal(),
                                              public_base_url=settings.server.public_base_url))


def _twiml(text: str | None = None) -> Response:
    twiml = MessagingResponse()
    if text:
        twiml.message(text)
    return Response(str(twiml), mimetype="application/xml")


@blp.route("/webhooks/twilio/sms", methods=["POST"])
@blp.doc(summary="Twilio inbound SMS (signed with X-Twilio-Signature); answers TwiML",
         security=[{"twilioSignature": []}],
         requestBody=form_request_body(TWILIO_FORM, "From", "To", "Body", "MessageSid", "AccountSid",
                                       required=("From",)),
         responses={"200": ok_response("application/xml", "TwiML: an acknowledgement or help text, or nothing "
                                                           "(always nothing for a text spooled during an outage)"),
                    "403": "FORBIDDEN", "422": "UNPROCESSABLE_ENTITY",
                    "503": problem_doc("The database is unreachable and the spool cannot be written")})
def twilio_inbound_sms():
    form = _verified()
    sender = form.get("From", "")
    if not sender:
        raise Problem(422, "Invalid request body", "From is required.", kind="validation",
                      errors=[{"field": "From", "message": "Missing data for required field."}])
    too_long = {name: [f"At most {limit} characters."] for name, limit in (("From", ADDRESS_LENGTH),
                                                                          ("MessageSid", MESSAGE_ID_LENGTH))
                if len(form.get(name) or "") > limit}
    if too_long:
        raise validation_problem(too_long)
    rt, body, sid = runtime(), form.get("Body", ""), form.get("MessageSid")
    now = rt.clock()
    answer = act_or_spool(
        rt.services["spool"],
        lambda: inbound.receive_sms(SessionUnitOfWork(db_session()), sender=sender, body=body, message_sid=sid,
                                    now=now, crm=rt.services["crm"], ctx=rt.followup,
                                    acknowledge=rt.settings.twilio.reply_acknowledgement),
        kind=SMS, data=sms_data(sender=sender, body=body, message_sid=sid), now=now,
        retry_after=rt.settings.server.outage_retry_after_seconds)
    return _twiml(None if isinstance(answer, SpoolEntry) else answer)  # spooled: nothing to say truthfully yet


@blp.route("/webhooks/twilio/status", methods=["POST"])
@blp.doc(summary="Twilio delivery status callback (signed); ?checkin=<id> ties it to our check-in",
         security=[{"twilioSignature": []}],
         parameters=[{"in": "query", "name": "checkin", "required": False, "schema": {"type": "string"}}],
         requestBody=form_request_body(TWILIO_FORM, "MessageSid", "MessageStatus", "ErrorCode", "To", "From"),
         responses={"204": {"description": "Recorded (or an unknown message, logged)"}, "403": "FORBIDDEN"})
def twilio_status():
    form = _verified()
    status, code = form.get("MessageStatus", ""), form.get("ErrorCode")
    report = inbound.DeliveryReport(
        checkin_id=request.args.get("checkin"), provider_message_id=form.get("MessageSid"), status=status,
        reason=f"{status} (Twilio error {code})" if code else status,
        unsubscribed="Twilio 21610: recipient unsubscribed" if code == UNSUBSCRIBED else None)
    inbound.record_deliveries(SessionUnitOfWork(db_session()), [report], now=runtime().clock())
    return Response(status=204)
