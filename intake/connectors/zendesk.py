"""Zendesk: `POST /webhooks/zendesk` — event subscriptions and trigger bodies, signed by Zendesk.

Signature: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(`zendesk.webhook_signing_secret`,
`X-Zendesk-Webhook-Signature-Timestamp` + raw body)), the timestamp (ISO text) signed exactly as received and
within `connectors.replay_window_seconds` of our clock.

Event subscriptions (`zen:event-type:…`, payload `{id, type, time, detail: ticket, event}`): a status change to
solved or closed is `interaction.closed`; another status change is `case.updated`; a public comment by the
requester is `customer.contacted`, by an agent `case.updated`. They carry `requester_id` and `assignee_id` but no
email, phone or time zone: `GET /api/v2/users/{id}.json` gives them (`iana_time_zone`). A trigger-connected
webhook posts the body docs/zendesk.md gives (`{"ticket": {...}}`, filled by Zendesk placeholders).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from aftercare.core.signing import safe_equals
from intake.connectors.api import DeskApi, credentials_check
from intake.connectors.base import CheckLine, Delivery, Ignored, LookupFailed, Refused, path, required, within
from intake.connectors.mapping import (
    Closing, Contact, MappingRules, closed_event, contacted_event, iso_time, priority_of, split_tags, text_or_none,
    updated_event,
)

CLOSED = ("solved", "closed")
EVENTS = ("zen:event-type:ticket.status_changed", "zen:event-type:ticket.comment_added")
CHANNELS = {"email": "email", "voice": "voice", "phone": "voice", "sms": "sms", "whatsapp": "whatsapp",
            "native_messaging": "chat", "chat": "chat", "web": "chat", "api": "chat", "mobile_sdk": "chat"}
RATINGS = {"good": 0.6, "goodwithcomment": 0.6, "bad": -0.8, "badwithcomment": -0.8}


class ZendeskConnector:
    name = "zendesk"

    def __init__(self, *, secret: str, api: DeskApi, rules: MappingRules, window: int) -> None:
        self._secret, self.api, self.rules, self.window = secret, api, rules, window

    @classmethod
    def from_config(cls, settings) -> "ZendeskConnector":
        z, c = settings.zendesk, settings.connectors
        return cls(secret=z.webhook_signing_secret.reveal(), rules=MappingRules.from_settings(c),
                   window=c.replay_window_seconds,
                   api=DeskApi(desk="zendesk", base_url=z.base_url if z.email and z.api_token else "",
                               auth=(f"{z.email}/token", z.api_token.reveal()), timeout=c.timeout_seconds,
                               attempts=c.lookup_attempts, cache_seconds=c.lookup_cache_seconds))

    def verify(self, delivery: Delivery, *, now: float) -> None:
        if not self._secret:
            raise Refused("zendesk is not configured here: set zendesk.webhook_signing_secret")
        stamp = delivery.header("X-Zendesk-Webhook-Signature-Timestamp") or ""
        if not within(iso_time(stamp), now=now, window=self.window):
            raise Refused(f"missing X-Zendesk-Webhook-Signature-Timestamp, or outside the {self.window} s window")
        mac = hmac.new(self._secret.encode(), stamp.encode() + delivery.body, hashlib.sha256).digest()
        if not safe_equals(delivery.header("X-Zendesk-Webhook-Signature"), base64.b64encode(mac).decode()):
            raise Refused("signature does not match")

    def delivery_id(self, delivery: Delivery, payload: dict) -> str:
        """An event subscription's own id; a trigger's invocation id; else the body itself."""
        return (text_or_none(payload.get("id")) if "detail" in payload else None) \
            or text_or_none(delivery.header("X-Zendesk-Webhook-Invocation-Id")) or delivery.body_digest()

    def translate(self, payload: dict, *, delivery_id: str, now: datetime) -> dict | Ignored:
        if isinstance(payload.get("ticket"), dict):
            return self._trigger(payload["ticket"], delivery_id, now)
        kind = str(payload.get("type") or "")
        if kind not in EVENTS:
            return Ignored(f"Zendesk event {kind or '(no type)'!r} is not one Aftercare acts on "
                           f"(subscribe to {', '.join(EVENTS)})")
        ticket = required(payload, "detail.id", desk="Zendesk")
        at = iso_time(payload.get("time")) or now
        if kind.endswith("comment_added"):
            return self._comment(payload, ticket, delivery_id, at)
        status = str(path(payload, "event.current") or path(payload, "detail.status") or "").lower()
        if status not in CLOSED:
            return updated_event(desk=self.name, delivery_id=delivery_id, occurred_at=at, native_id=ticket,
                                 status="open" if status in ("new", "open", "pending", "hold") else None)
        detail = payload["detail"]
        contact = self._user(required(payload, "detail.requester_id", desk="Zendesk"), "requester")
        agent_id = text_or_none(detail.get("assignee_id"))
        closing = Closing(desk=self.name, delivery_id=delivery_id, native_id=ticket, occurred_at=at,
                          channel=CHANNELS.get(str(path(detail, "via.channel") or "").lower(), "chat"),
                          contact=contact, agent_id=agent_id, tags=split_tags(detail.get("tags")),
                          priority=priority_of(detail.get("priority")), started_at=iso_time(detail.get("created_at")),
                          team=text_or_none(detail.get("group_id")) and f"zendesk-group-{detail['group_id']}")
        if agent_id:
            closing.agent_name = self._agent_name(agent_id, closing.notes)
        return closed_event(closing, self.rules)

    def _comment(self, payload: dict, ticket: str, delivery_id: str, at: datetime) -> dict | Ignored:
        comment = path(payload, "event.comment") or {}
        if not comment.get("is_public", True):
            return Ignored("a private (internal) comment: the customer did not see it")
        if path(comment, "author.is_staff"):
            return updated_event(desk=self.name, delivery_id=delivery_id, occurred_at=at, native_id=ticket)
        author = text_or_none(path(comment, "author.id")) or required(payload, "detail.requester_id", desk="Zendesk")
        return contacted_event(desk=self.name, delivery_id=delivery_id, occurred_at=at, customer_id=author,
                               native_id=ticket)

    def _trigger(self, ticket: dict, delivery_id: str, now: datetime) -> dict | Ignored:
        """A trigger's body (docs/zendesk.md): the requester's details come with it; only a missing time zone is
        asked of the API, and only when it is configured."""
        number = required({"ticket": ticket}, "ticket.id", desk="Zendesk trigger")
        status = str(ticket.get("status") or "").lower()
        if status not in CLOSED:
            return Ignored(f"ticket status {status or '(none)'!r}: the trigger should fire on Solved or Closed")
        requester = ticket.get("requester") if isinstance(ticket.get("requester"), dict) else {}
        contact = Contact(id=text_or_none(requester.get("id")) or text_or_none(requester.get("email")) or number,
                          name=requester.get("name"), email=requester.get("email"), phone=requester.get("phone"),
                          timezone=requester.get("time_zone"), locale=requester.get("locale"))
        incomplete = not contact.reachable or not contact.timezone
        if text_or_none(requester.get("id")) and incomplete and self.api.configured:
            found = self._user(requester["id"], "requester")
            contact = Contact(id=contact.id, name=contact.name or found.name, email=contact.email or found.email,
                              phone=contact.phone or found.phone, timezone=found.timezone or contact.timezone,
                              locale=contact.locale or found.locale, attributes=found.attributes)
        elif not contact.reachable:
            raise LookupFailed("the trigger body has no requester email or phone, and the Zendesk API is not "
                               "configured to look the requester up")
        assignee = ticket.get("assignee") if isinstance(ticket.get("assignee"), dict) else {}
        rating = (text_or_none(ticket.get("satisfaction")) or "").lower().replace(" ", "")
        closing = Closing(
            desk=self.name, delivery_id=delivery_id, native_id=number, occurred_at=iso_time(ticket.get("updated_at"))
            or now, channel=CHANNELS.get(str(ticket.get("via") or "").lower().replace(" ", "_"), "chat"),
            contact=contact, agent_id=text_or_none(assignee.get("id")), agent_name=text_or_none(assignee.get("name")),
            team=text_or_none(ticket.get("group")), tags=split_tags(ticket.get("tags")),
            priority=priority_of(ticket.get("priority")), sentiment=RATINGS.get(rating),
            root_cause=text_or_none(ticket.get("root_cause")))  # "{{ticket.ticket_field_<id>}}" in the body
        return closed_event(closing, self.rules)

    def _user(self, user_id: str, role: str) -> Contact:
        user = self.api.get(f"/api/v2/users/{user_id}.json", what=f"Zendesk {role} {user_id}").get("user") or {}
        return Contact(id=str(user_id), name=user.get("name"), email=user.get("email"), phone=user.get("phone"),
                       timezone=user.get("iana_time_zone") or user.get("time_zone"), locale=user.get("locale"),
                       attributes=user.get("user_fields") or {})

    def _agent_name(self, agent_id: str, notes: list[str]) -> str | None:
        """The assignee's name for the check-in; without it the message names the team instead (noted)."""
        try:
            return self._user(agent_id, "assignee").name
        except LookupFailed as exc:
            notes.append(f"agent name unknown: {exc}")
            return None

    def check(self) -> list[CheckLine]:
        def signed_in(me: dict) -> list[CheckLine]:
            user = me.get("user") or {}
            return [CheckLine(user.get("id") is not None, f"API token works: signed in as {user.get('email')} "
                                                          f"({user.get('role')})")]

        return credentials_check(secret_set=bool(self._secret), secret_names="zendesk.webhook_signing_secret",
                                 api=self.api, api_names="zendesk.base_url, zendesk.email and zendesk.api_token",
                                 purpose="look requesters up and to reopen tickets", probe="/api/v2/users/me.json",
                                 credential="API token", describe=signed_in)

    def paste(self, public_base_url: str) -> list[str]:
        return [f"Admin Center → Apps and integrations → Webhooks → Create webhook → Zendesk events",
                f"  Endpoint URL: {public_base_url.rstrip('/')}/webhooks/zendesk (POST, JSON)",
                f"  Events: {', '.join(EVENTS)}",
                "  Then copy the webhook's signing secret into zendesk.webhook_signing_secret."]
