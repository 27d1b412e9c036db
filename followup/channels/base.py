"""The channel Protocol every SMS/email/WhatsApp adapter implements, and the errors it may raise."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Protocol, runtime_checkable


@dataclass(frozen=True)
class OutboundMessage:
    checkin_id: str
    channel: str  # "sms" | "email" | "whatsapp"
    to: str
    body: str
    subject: str | None = None
    reply_token: str | None = None
    html: str | None = None
    locale: str | None = None
    template_fields: Mapping[str, str] | None = None  # what the body was written from (a template's variables)
    inbound_age: timedelta | None = None  # how long ago this address last wrote to us (None: never, as far as known)
    needs_template: bool = False  # the provider refused free text for this check-in: only a template may go


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    status: str = "sent"


class SendError(Exception):
    """Base for provider failures; `reason` is stored on the check-in."""

    def __init__(self, reason: str, *, code: str | int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


class TransientSendError(SendError):
    """Worth retrying later (429, 5xx, timeout, connection refused)."""

    def __init__(self, reason: str, *, code: str | int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Retrying cannot help (invalid number, unsubscribed recipient, rejected request)."""

    def __init__(self, reason: str, *, code: str | int | None = None, opt_out: bool = False) -> None:
        super().__init__(reason, code=code)
        self.opt_out = opt_out


@runtime_checkable
class Channel(Protocol):
    name: str
    sender: str  # whose rate limit a send counts against ("" = none)
    max_per_second: float  # 0 = unlimited

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand the message to the provider; raise a SendError subclass on failure."""

    def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """After a crash: did the provider already accept this check-in? None = not known to it;
        raise TransientSendError when the provider cannot be asked."""
