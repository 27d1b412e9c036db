"""SMS through Twilio's Messages API with the real `twilio` client (base URL configurable for local fakes)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from aftercare.core.retry import retry_after_seconds
from followup.channels.base import OutboundMessage, PermanentSendError, SendResult, TransientSendError

UNSUBSCRIBED = 21610
PERMANENT_CODES = {UNSUBSCRIBED: "recipient unsubscribed (Twilio 21610)", 21211: "invalid 'To' number (Twilio 21211)",
                   21614: "'To' number cannot receive SMS (Twilio 21614)", 21408: "region not enabled (Twilio 21408)"}


class HeaderKeepingHttpClient(TwilioHttpClient):
    """Twilio's exception drops response headers; keep the last ones per thread to read `Retry-After`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def request(self, *args, **kwargs):
        self._local.headers = {}
        response = super().request(*args, **kwargs)
        self._local.headers = dict(response.headers or {})
        return response

    def last_header(self, name: str) -> str | None:
        headers = getattr(self._local, "headers", {}) or {}
        return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def twilio_client(twilio_settings) -> tuple[Client, HeaderKeepingHttpClient]:
    """The real client, its Messages API at `twilio.api_base_url` (a local fake in tests)."""
    http = HeaderKeepingHttpClient(timeout=twilio_settings.timeout_seconds)
    client = Client(twilio_settings.account_sid, twilio_settings.auth_token.reveal(), http_client=http)
    client.api.base_url = twilio_settings.api_base_url.rstrip("/")
    return client, http


def status_callback_base(settings) -> str:
    """Where Twilio reports delivery, for every channel it carries; `?checkin=<id>` is added per message."""
    return settings.server.public_base_url.rstrip("/") + "/webhooks/twilio/status"


def sender_fields(messaging_service_sid: str | None, from_address: str | None) -> dict:
    """A Messaging Service picks the sender from its pool; otherwise the message comes From this address."""
    return {"messaging_service_sid": messaging_service_sid} if messaging_service_sid else {"from_": from_address}


def create_message(client: Client, http: HeaderKeepingHttpClient, codes: dict[int, str] = PERMANENT_CODES,
                   **kwargs) -> SendResult:
    """`messages.create`, its refusals as SendErrors (`codes` names the permanent ones)."""
    try:
        created = client.messages.create(**kwargs)
    except TwilioRestException as exc:
        raise send_error(exc, http, codes) from exc
    except requests.RequestException as exc:
        raise TransientSendError(f"Twilio unreachable: {type(exc).__name__}") from exc
    return SendResult(provider_message_id=created.sid, status=created.status or "queued")


def send_error(exc: TwilioRestException, http: HeaderKeepingHttpClient, codes: dict[int, str] = PERMANENT_CODES):
    """Twilio's refusal as a SendError: 429 (honouring Retry-After) and 5xx are worth retrying, the rest is not."""
    if exc.status == 429:
        return TransientSendError("Twilio rate limit (429)", code=exc.code,
                                  retry_after=retry_after_seconds(http.last_header("Retry-After")))
    if exc.status >= 500:
        return TransientSendError(f"Twilio server error ({exc.status})", code=exc.code)
    reason = codes.get(exc.code, f"Twilio refused the message ({exc.status}, code {exc.code})")
    return PermanentSendError(reason, code=exc.code, opt_out=exc.code == UNSUBSCRIBED)


class TwilioSmsChannel:
    name = "twilio"

    def __init__(self, *, client: Client, http: HeaderKeepingHttpClient, from_number: str | None,
                 messaging_service_sid: str | None, status_callback_base: str, max_per_second: float = 1.0) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("twilio.from_number or twilio.messaging_service_sid must be set")
        self.client, self.http = client, http
        self.from_number, self.messaging_service_sid = from_number, messaging_service_sid
        self.status_callback_base = status_callback_base
        self.max_per_second = max_per_second

    @classmethod
    def from_config(cls, settings) -> "TwilioSmsChannel":
        t = settings.twilio
        client, http = twilio_client(t)
        return cls(client=client, http=http, from_number=t.from_number or None,
                   messaging_service_sid=t.messaging_service_sid or None,
                   status_callback_base=status_callback_base(settings), max_per_second=t.max_per_second)

    @property
    def sender(self) -> str:
        """Rate limits are per sender: the long code, or the Messaging Service."""
        return self.messaging_service_sid or self.from_number or ""

    def send(self, message: OutboundMessage) -> SendResult:
        return create_message(self.client, self.http, to=message.to, body=message.body,
                              status_callback=f"{self.status_callback_base}?checkin={message.checkin_id}",
                              **sender_fields(self.messaging_service_sid, self.from_number))

    def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """Ask Twilio for a message to this number with this body in the last day (crash reconciliation)."""
        return find_recent(self.client, message.to, (message.body,))


def find_recent(client: Client, to: str, bodies) -> SendResult | None:
    """A message to `to` in the last day whose body is one of `bodies`, as Twilio lists it.

    Raises TransientSendError when Twilio cannot be asked: "unknown" must never be read as "not sent"."""
    wanted = {body.strip() for body in bodies}
    try:
        recent = client.messages.list(to=to, date_sent_after=datetime.now(timezone.utc) - timedelta(days=1), limit=50)
    except (TwilioRestException, requests.RequestException) as exc:
        raise TransientSendError(f"could not list Twilio messages: {type(exc).__name__}") from exc
    for found in recent:
        if (found.body or "").strip() in wanted:
            return SendResult(provider_message_id=found.sid, status=found.status or "sent")
    return None
