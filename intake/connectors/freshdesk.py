"""Freshdesk: `POST /webhooks/freshdesk` — an automation rule's "Trigger webhook", with basic auth on the URL.

Freshdesk cannot sign a request: the webhook action's "Requires authentication" sends `freshdesk.webhook_user` /
`freshdesk.webhook_password` as HTTP basic auth (or put them in the URL, `https://user:password@host/…`), compared
in constant time. The body is the JSON docs/freshdesk.md
gives, filled by Freshdesk placeholders (`{"freshdesk_webhook": {"ticket_id": "{{ticket.id}}", …}}`): a status of
Resolved or Closed is `interaction.closed`. Freshdesk sends no delivery id, so a delivery is known by its body
(with `ticket_updated_at` in it, a ticket closed twice is two events). Contacts: the body's requester, and
`GET /api/v2/contacts/{id}` for the time zone (a Rails name such as "Eastern Time (US & Canada)", converted) and
the custom fields (`connectors.sms_consent_attribute`).
"""
from __future__ import annotations

from datetime import datetime

from aftercare.core.signing import safe_equals
from intake.connectors.api import DeskApi, credentials_check
from intake.connectors.base import CheckLine, Delivery, Ignored, LookupFailed, Refused, required
from intake.connectors.mapping import (
    Closing, Contact, MappingRules, closed_event, iso_time, priority_of, split_tags, text_or_none,
)

CLOSED = ("resolved", "closed", "4", "5")
CHANNELS = {"email": "email", "outbound email": "email", "phone": "voice", "chat": "chat", "portal": "chat",
            "feedback widget": "chat", "whatsapp": "whatsapp", "sms": "sms", "mobihelp": "chat"}


class FreshdeskConnector:
    name = "freshdesk"

    def __init__(self, *, user: str, password: str, api: DeskApi, rules: MappingRules) -> None:
        self._user, self._password, self.api, self.rules = user, password, api, rules

    @classmethod
    def from_config(cls, settings) -> "FreshdeskConnector":
        f, c = settings.freshdesk, settings.connectors
        return cls(user=f.webhook_user, password=f.webhook_password.reveal(), rules=MappingRules.from_settings(c),
                   api=DeskApi(desk="freshdesk", base_url=f.base_url if f.api_key else "",
                               auth=(f.api_key.reveal(), "X"), timeout=c.timeout_seconds,
                               attempts=c.lookup_attempts, cache_seconds=c.lookup_cache_seconds))

    def verify(self, delivery: Delivery, *, now: float) -> None:
        if not (self._user and self._password):
            raise Refused("freshdesk is not configured here: set freshdesk.webhook_user and webhook_password")
        user, password = delivery.basic_auth or ("", "")
        if not (safe_equals(user, self._user) & safe_equals(password, self._password)):
            raise Refused("wrong or missing basic-auth credentials on the webhook URL")

    def delivery_id(self, delivery: Delivery, payload: dict) -> str:
        ticket = text_or_none(_fields(payload).get("ticket_id")) or "ticket"
        return f"{ticket}:{delivery.body_digest()}"

    def translate(self, payload: dict, *, delivery_id: str, now: datetime) -> dict | Ignored:
        fields = _fields(payload)
        ticket = required({"freshdesk_webhook": fields}, "freshdesk_webhook.ticket_id", desk="Freshdesk")
        status = str(text_or_none(fields.get("ticket_status")) or "").lower()
        if status not in CLOSED:
            return Ignored(f"ticket status {status or '(none)'!r}: the automation rule should fire when the status "
                           "changes to Resolved or Closed")
        requester = (text_or_none(fields.get("ticket_requester_id"))
                     or text_or_none(fields.get("ticket_requester_email")))
        if requester is None:
            required({"freshdesk_webhook": fields}, "freshdesk_webhook.ticket_requester_id", desk="Freshdesk")
        closing = Closing(desk=self.name, delivery_id=delivery_id, native_id=ticket,
                          occurred_at=iso_time(fields.get("ticket_updated_at")) or now,
                          channel=CHANNELS.get(str(text_or_none(fields.get("ticket_source")) or "").lower(), "chat"),
                          contact=self._contact(fields, requester),
                          agent_id=text_or_none(fields.get("ticket_agent_id")) or
                          text_or_none(fields.get("ticket_agent_email")),
                          agent_name=text_or_none(fields.get("ticket_agent_name")),
                          team=text_or_none(fields.get("ticket_group_name")),
                          tags=split_tags(fields.get("ticket_tags")),
                          priority=priority_of(fields.get("ticket_priority")),
                          root_cause=text_or_none(fields.get("ticket_root_cause")))  # "{{ticket.cf_root_cause}}"
        return closed_event(closing, self.rules)

    def _contact(self, fields: dict, requester: str) -> Contact:
        """The body's requester; the contacts API adds the time zone and custom fields when it is configured."""
        contact = Contact(id=requester, name=fields.get("ticket_requester_name"),
                          email=fields.get("ticket_requester_email"),
                          phone=text_or_none(fields.get("ticket_requester_mobile")) or
                          fields.get("ticket_requester_phone"))
        requester_id = text_or_none(fields.get("ticket_requester_id"))
        if requester_id is None or (contact.reachable and not self.api.configured):
            if not contact.reachable:
                raise LookupFailed("the body has no requester id, email or phone to reach the customer")
            return contact
        found = self.api.get(f"/api/v2/contacts/{requester_id}", what=f"Freshdesk contact {requester_id}")
        return Contact(id=requester, name=contact.name or found.get("name"), email=contact.email or found.get("email"),
                       phone=contact.phone or found.get("mobile") or found.get("phone"),
                       timezone=found.get("time_zone"), locale=found.get("language"),
                       attributes=found.get("custom_fields") or {})

    def check(self) -> list[CheckLine]:
        def agent(me: dict) -> list[CheckLine]:
            return [CheckLine(True, f"API key works: agent {(me.get('contact') or {}).get('email') or me.get('id')}")]

        return credentials_check(secret_set=bool(self._user and self._password),
                                 secret_names="freshdesk.webhook_user / webhook_password", api=self.api,
                                 api_names="freshdesk.base_url and freshdesk.api_key",
                                 purpose="look contacts up (time zones) and to reopen tickets",
                                 probe="/api/v2/agents/me", credential="API key", describe=agent)

    def paste(self, public_base_url: str) -> list[str]:
        return ["Admin → Workflows → Automations → Ticket updates → New rule: when Status is changed to Resolved "
                "or Closed → Action: Trigger webhook",
                f"  Request type POST, URL {public_base_url.rstrip('/')}/webhooks/freshdesk",
                f"  Requires authentication: username {self._user or '(set freshdesk.webhook_user)'}, password "
                f"{self._password or '(set freshdesk.webhook_password)'}",
                "  Encoding JSON, content Advanced: the body in docs/freshdesk.md"]


def _fields(payload: dict) -> dict:
    """The body's fields, wrapped in `freshdesk_webhook` (as Freshdesk's simple content sends them) or not."""
    inner = payload.get("freshdesk_webhook")
    return inner if isinstance(inner, dict) else payload
