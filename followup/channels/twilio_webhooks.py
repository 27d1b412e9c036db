"""Twilio's webhooks for the SMS and WhatsApp channels: inbound texts and WhatsApp messages (answered with TwiML) and
delivery status callbacks (both channels). Each is verified with `X-Twilio-Signature` before anything is read; what a
message or a report does is decided by `followup.inbound`. While the database is unreachable an inbound message is
kept in the spool (`followup.inbound_spool`) and answered with empty TwiML: Twilio never retries it."""
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
from followup.inbound_spool import act_or_spool, text_data
from followup.models import ChannelContact, OptOut, Reply
from followup.policy import WHATSAPP_PREFIX

blp = Blueprint("twilio_webhooks", __name__,
                description="Twilio SMS and WhatsApp webhooks (signed with X-Twilio-Signature)")
TWILIO_FORM = "application/x-www-form-urlencoded"
ADDRESS_LENGTH = column_length(Reply.from_address, OptOut.address, ChannelContact.address)  # phone, email, whatsapp:
MESSAGE_ID_LENGTH = column_length(Reply.provider_message_id)
PROFILE_NAME_LENGTH = column_length(ChannelContact.profile_name)
WA_ID_LENGTH = column_length(ChannelContact.provider_user_id)
UNSUBSCRIBED = "21610"  # Twilio: the recipient replied STOP to this sender
OUTSIDE_WINDOW = "63016"  # Twilio: WhatsApp free text outside the 24-hour window


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
    return _inbound_message()


@blp.route("/webhooks/twilio/whatsapp", methods=["POST"])
@blp.doc(summary="Twilio inbound WhatsApp (signed with X-Twilio-Signature); a tapped button is the answer; "
                 "answers TwiML", security=[{"twilioSignature": []}],
         description="Either inbound URL takes either channel: a message is WhatsApp when its From is "
                     "`whatsapp:+E164`, an SMS otherwise (a Messaging Service with both kinds of sender has one URL, "
                     "and Twilio never sends an inbound message twice).",
         requestBody=form_request_body(TWILIO_FORM, "From", "To", "Body", "MessageSid", "AccountSid", "ButtonPayload",
                                       "ButtonText", "ProfileName", "WaId", "OriginalRepliedMessageSid",
                                       required=("From",)),
         responses={"200": ok_response("application/xml", "TwiML: an acknowledgement or help text, or nothing "
                                                           "(always nothing for a message spooled during an outage)"),
                    "403": "FORBIDDEN", "422": "UNPROCESSABLE_ENTITY",
                    "503": problem_doc("The database is unreachable and the spool cannot be written")})
def twilio_inbound_whatsapp():
    return _inbound_message()


def _inbound_message() -> Response:
    """A customer's SMS or WhatsApp message (by its `From`), verified, acted on (or spooled while the database is
    unreachable), answered with TwiML."""
    form, rt = _sender_form(), runtime()
    message, now = _inbound_text(form), rt.clock()
    answer = act_or_spool(
        rt.services["spool"],
        lambda: inbound.receive_message(SessionUnitOfWork(db_session()), message=message, now=now,
                                        crm=rt.services["crm"], ctx=rt.followup,
                                        acknowledge=rt.settings.twilio.reply_acknowledgement),
        kind=message.channel, data=text_data(message), now=now,
        retry_after=rt.settings.server.outage_retry_after_seconds)
    return _twiml(None if isinstance(answer, SpoolEntry) else answer)  # spooled: nothing to say truthfully yet


def _inbound_text(form: dict) -> inbound.InboundText:
    if not form["From"].startswith(WHATSAPP_PREFIX):
        return inbound.InboundText("sms", form["From"], form.get("Body", ""), form.get("MessageSid"))
    wa_id = form.get("WaId") or None
    return inbound.InboundText(
        channel="whatsapp", sender=form["From"], body=form.get("Body") or form.get("ButtonText") or "",
        message_sid=form.get("MessageSid"), button=form.get("ButtonPayload") or None,
        profile_name=(form.get("ProfileName") or "")[:PROFILE_NAME_LENGTH] or None,  # a display name, not a key
        provider_user_id=wa_id if wa_id and len(wa_id) <= WA_ID_LENGTH else None,
        replied_to=form.get("OriginalRepliedMessageSid") or None)


def _sender_form() -> dict:
    """The verified form of an inbound message, with a `From` and ids that fit their columns (else a 422)."""
    form = _verified()
    if not form.get("From", ""):
        raise Problem(422, "Invalid request body", "From is required.", kind="validation",
                      errors=[{"field": "From", "message": "Missing data for required field."}])
    too_long = {name: [f"At most {limit} characters."] for name, limit in (("From", ADDRESS_LENGTH),
                                                                          ("MessageSid", MESSAGE_ID_LENGTH))
                if len(form.get(name) or "") > limit}
    if too_long:
        raise validation_problem(too_long)
    return form


@blp.route("/webhooks/twilio/status", methods=["POST"])
@blp.doc(summary="Twilio delivery status callback, SMS and WhatsApp (signed; WhatsApp adds `read`); "
                 "?checkin=<id> ties it to our check-in",
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
        unsubscribed="Twilio 21610: recipient unsubscribed" if code == UNSUBSCRIBED else None,
        window_closed=code == OUTSIDE_WINDOW)
    inbound.record_deliveries(SessionUnitOfWork(db_session()), [report], now=runtime().clock())
    return Response(status=204)
