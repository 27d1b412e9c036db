"""Email through SendGrid's Mail Send with the real `sendgrid` client (host configurable for local fakes)."""
from __future__ import annotations

import html
import urllib.error

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Header, Mail, ReplyTo

from aftercare.core.retry import retry_after_seconds
from followup.channels.base import OutboundMessage, PermanentSendError, SendResult, TransientSendError


def as_html(text: str) -> str:
    """A simple HTML part: the same words, one paragraph per blank-line block."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


class SendgridEmailChannel:
    name = "sendgrid"

    def __init__(self, *, client: SendGridAPIClient, from_email: str, inbound_domain: str,
                 unsubscribe_base: str, max_per_second: float = 0.0) -> None:
        if not from_email or not inbound_domain:
            raise ValueError("sendgrid.from_email and sendgrid.inbound_domain must be set")
        self.client, self.from_email, self.inbound_domain = client, from_email, inbound_domain.lstrip("@")
        self.unsubscribe_base = unsubscribe_base
        self.max_per_second = max_per_second

    @classmethod
    def from_config(cls, settings) -> "SendgridEmailChannel":
        s = settings.sendgrid
        client = SendGridAPIClient(api_key=s.api_key.reveal(), host=s.api_base_url.rstrip("/"))
        client.client.timeout = s.timeout_seconds
        return cls(client=client, from_email=s.from_email, inbound_domain=s.inbound_domain,
                   unsubscribe_base=settings.server.public_base_url.rstrip("/") + "/unsubscribe/",
                   max_per_second=s.max_per_second)

    @property
    def sender(self) -> str:
        return self.from_email

    def build(self, message: OutboundMessage) -> Mail:
        mail = Mail(from_email=self.from_email, to_emails=message.to, subject=message.subject or "",
                    plain_text_content=message.body, html_content=message.html or as_html(message.body))
        mail.reply_to = ReplyTo(f"reply+{message.reply_token}@{self.inbound_domain}")
        mail.custom_arg = CustomArg("checkin_id", message.checkin_id)
        unsubscribe = f"{self.unsubscribe_base}{message.reply_token}"
        mail.header = Header("List-Unsubscribe", f"<{unsubscribe}>")
        mail.header = Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        return mail

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            response = self.client.send(self.build(message))
        except HTTPError as exc:
            raise self._classify(exc) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransientSendError(f"SendGrid unreachable: {type(exc).__name__}") from exc
        headers = response.headers or {}
        message_id = headers.get("X-Message-Id") or headers.get("x-message-id") or f"sg-{message.checkin_id}"
        return SendResult(provider_message_id=message_id, status="sent")

    @staticmethod
    def _classify(exc: HTTPError):
        status = exc.status_code
        if status == 429:
            headers = exc.headers or {}
            return TransientSendError("SendGrid rate limit (429)", code=429,
                                      retry_after=retry_after_seconds(headers.get("Retry-After")))
        if status >= 500:
            return TransientSendError(f"SendGrid server error ({status})", code=status)
        body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else str(exc.body)
        return PermanentSendError(f"SendGrid refused the message ({status}): {body[:200]}", code=status)

    def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """SendGrid has no cheap lookup; its Event Webhook (`processed`) reconciles instead."""
        return None
