"""WhatsApp through Twilio's Messages API with the real `twilio` client: free text inside the customer-service
window, the approved Content template (`content_sid` + `content_variables`, no `Body`) outside it."""
from __future__ import annotations

import json

from twilio.rest import Client

from followup.channels.base import OutboundMessage, PermanentSendError, SendResult
from followup.channels.twilio_sms import (
    PERMANENT_CODES,
    HeaderKeepingHttpClient,
    create_message,
    find_recent,
    sender_fields,
    status_callback_base,
    twilio_client,
)
from followup.whatsapp_content import Delivery, plan_delivery, template_delivery, template_problems, template_text

OUTSIDE_WINDOW = 63016
WHATSAPP_CODES = {**PERMANENT_CODES,
                  OUTSIDE_WINDOW: "WhatsApp refused free text outside the 24-hour window (Twilio 63016)",
                  63003: "the number is not on WhatsApp (Twilio 63003)",
                  63024: "invalid WhatsApp recipient (Twilio 63024)"}


class TwilioWhatsappChannel:
    name = "twilio"

    def __init__(self, *, client: Client, http: HeaderKeepingHttpClient, whatsapp_from: str | None,
                 messaging_service_sid: str | None, status_callback_base: str, templates: dict,
                 max_per_second: float = 0.0) -> None:
        if not (whatsapp_from or messaging_service_sid):
            raise ValueError("twilio.whatsapp_from or twilio.whatsapp_messaging_service_sid must be set")
        if whatsapp_from and not whatsapp_from.startswith("whatsapp:+"):
            raise ValueError('twilio.whatsapp_from must be the sender as "whatsapp:+E164"')
        if problems := template_problems(templates):
            raise ValueError("; ".join(problems))
        self.client, self.http = client, http
        self.whatsapp_from, self.messaging_service_sid = whatsapp_from, messaging_service_sid
        self.status_callback_base, self.templates = status_callback_base, templates
        self.max_per_second = max_per_second

    @classmethod
    def from_config(cls, settings) -> "TwilioWhatsappChannel":
        t = settings.twilio
        client, http = twilio_client(t)
        return cls(client=client, http=http, whatsapp_from=t.whatsapp_from or None,
                   messaging_service_sid=t.whatsapp_messaging_service_sid or None,
                   status_callback_base=status_callback_base(settings), templates=dict(settings.whatsapp.templates),
                   max_per_second=settings.whatsapp.max_per_second)

    @property
    def sender(self) -> str:
        return self.messaging_service_sid or self.whatsapp_from or ""

    def send(self, message: OutboundMessage) -> SendResult:
        """Free text inside the window; the template outside it, and once more after a 63016 (never text again)."""
        delivery = plan_delivery(inbound_age=message.inbound_age, needs_template=message.needs_template,
                                 templates=self.templates, locale=message.locale, fields=message.template_fields)
        if delivery.kind == "text":
            try:
                return self._create(message, body=message.body)
            except PermanentSendError as exc:
                if exc.code != OUTSIDE_WINDOW:
                    raise
                delivery = template_delivery(templates=self.templates, locale=message.locale,
                                             fields=message.template_fields)
        return self._send_template(message, delivery)

    def _send_template(self, message: OutboundMessage, delivery: Delivery) -> SendResult:
        if delivery.kind != "template":
            raise PermanentSendError(delivery.reason, code="no-template")
        return self._create(message, content_sid=delivery.content_sid,
                            content_variables=json.dumps(delivery.variables, ensure_ascii=False))

    def _create(self, message: OutboundMessage, **content) -> SendResult:
        return create_message(self.client, self.http, WHATSAPP_CODES, to=message.to, **content,
                              status_callback=f"{self.status_callback_base}?checkin={message.checkin_id}",
                              **sender_fields(self.messaging_service_sid, self.whatsapp_from))

    def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """A message to this WhatsApp address in the last day that reads as the check-in's free text or as its
        template filled in (Twilio stores a template message with its text)."""
        bodies = [message.body]
        delivery = template_delivery(templates=self.templates, locale=message.locale, fields=message.template_fields)
        if delivery.kind == "template":
            bodies.append(template_text(delivery.template_locale, message.template_fields))
        return find_recent(self.client, message.to, bodies)
