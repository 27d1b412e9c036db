"""Chatwoot: `POST /webhooks/chatwoot` — account webhooks, signed by Chatwoot.

Signature: `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(chatwoot.webhook_secret, "{X-Chatwoot-Timestamp}.{raw
body}")>`, the timestamp (unix seconds) within `connectors.replay_window_seconds`; `X-Chatwoot-Delivery` (a UUID
kept across retries) de-duplicates.

The payload is the conversation (`Conversations::EventDataPresenter#push_data`) plus `event` and
`changed_attributes`: `conversation_status_changed` to `resolved` (or the older `conversation_resolved`) is
`interaction.closed`; back to `open` is `customer.contacted` (SPEC §10); `message_created` from the contact is
`customer.contacted`; `conversation_updated` on an open conversation is `case.updated`. The contact comes as
`meta.sender`; when it lacks email and phone, or its custom attributes, `GET /api/v1/accounts/{account}/contacts/{id}`
fills them in. Chatwoot contacts have no time zone field: the `connectors.timezone_attribute` custom attribute, else
`connectors.default_timezone`.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from aftercare.core.signing import safe_equals
from intake.connectors.api import DeskApi, credentials_check
from intake.connectors.base import CheckLine, Delivery, Ignored, Refused, hmac_hex, path, required, within
from intake.connectors.mapping import (
    Closing, Contact, MappingRules, closed_event, contacted_event, priority_of, rating_sentiment, split_tags,
    text_or_none, unix_time, updated_event,
)

EVENTS = ("conversation_status_changed", "message_created", "conversation_updated")
CHANNELS = {"Channel::Email": "email", "Channel::Sms": "sms", "Channel::TwilioSms": "sms", "Channel::Whatsapp":
            "whatsapp", "Channel::Voice": "voice"}


class ChatwootConnector:
    name = "chatwoot"

    def __init__(self, *, secret: str, account_id: str, api: DeskApi, rules: MappingRules, window: int) -> None:
        self._secret, self.account_id, self.api, self.rules, self.window = secret, account_id, api, rules, window

    @classmethod
    def from_config(cls, settings) -> "ChatwootConnector":
        cw, c = settings.chatwoot, settings.connectors
        usable = cw.base_url if cw.account_id and cw.api_access_token else ""
        return cls(secret=cw.webhook_secret.reveal(), account_id=cw.account_id, rules=MappingRules.from_settings(c),
                   window=c.replay_window_seconds,
                   api=DeskApi(desk="chatwoot", base_url=usable, headers={"api_access_token":
                                                                          cw.api_access_token.reveal()},
                               timeout=c.timeout_seconds, attempts=c.lookup_attempts,
                               cache_seconds=c.lookup_cache_seconds))

    def verify(self, delivery: Delivery, *, now: float) -> None:
        if not self._secret:
            raise Refused("chatwoot is not configured here: set chatwoot.webhook_secret")
        stamp = delivery.header("X-Chatwoot-Timestamp") or ""
        if not (stamp.isascii() and stamp.isdigit() and within(unix_time(stamp), now=now, window=self.window)):
            raise Refused(f"missing X-Chatwoot-Timestamp, or outside the {self.window} s window")
        expected = "sha256=" + hmac_hex(self._secret, stamp.encode() + b"." + delivery.body, hashlib.sha256)
        if not safe_equals(delivery.header("X-Chatwoot-Signature"), expected):
            raise Refused("signature does not match")

    def delivery_id(self, delivery: Delivery, payload: dict) -> str:
        return text_or_none(delivery.header("X-Chatwoot-Delivery")) or delivery.body_digest()

    def translate(self, payload: dict, *, delivery_id: str, now: datetime) -> dict | Ignored:
        event = str(payload.get("event") or "")
        if event == "message_created":
            return self._message(payload, delivery_id, now)
        if event not in ("conversation_status_changed", "conversation_resolved", "conversation_updated"):
            if event == "message_updated" and path(payload, "content_type") == "input_csat":
                return Ignored("a CSAT answer arrives after the close: Aftercare triages at the close, so it "
                               "reads the rating only when the resolved conversation already carries it")
            return Ignored(f"Chatwoot event {event or '(none)'!r} is not one Aftercare acts on "
                           f"(subscribe to {', '.join(EVENTS)})")
        conversation = required(payload, "id", desk="Chatwoot")
        status = str(payload.get("status") or "")
        at = unix_time(payload.get("timestamp")) or now
        if event == "conversation_updated":
            if status in ("open", "pending"):
                return updated_event(desk=self.name, delivery_id=delivery_id, occurred_at=at, native_id=conversation)
            return Ignored(f"an update of a {status or 'closed'} conversation: status changes come as "
                           "conversation_status_changed, and changes after the close do not touch the follow-up")
        if status == "open":
            return contacted_event(desk=self.name, delivery_id=delivery_id, occurred_at=at, native_id=conversation,
                                   customer_id=required(payload, "meta.sender.id", desk="Chatwoot"))
        if status != "resolved":
            return Ignored(f"conversation status {status or '(none)'!r}: only resolved (a close) and open (reopened) "
                           "are acted on")
        return self._closed(payload, conversation, delivery_id, at)

    def _closed(self, payload: dict, conversation: str, delivery_id: str, at: datetime) -> dict:
        sender = path(payload, "meta.sender") or {}
        contact = self._contact(sender, required(payload, "meta.sender.id", desk="Chatwoot"))
        assignee, team = path(payload, "meta.assignee") or {}, path(payload, "meta.team") or {}
        closing = Closing(desk=self.name, delivery_id=delivery_id, native_id=conversation, occurred_at=at,
                          channel=CHANNELS.get(str(payload.get("channel") or ""), "chat"), contact=contact,
                          agent_id=text_or_none(assignee.get("id")), agent_name=text_or_none(assignee.get("name")),
                          team=text_or_none(team.get("name")), tags=split_tags(payload.get("labels")),
                          priority=priority_of(payload.get("priority")),
                          started_at=unix_time(payload.get("created_at")),
                          sentiment=_csat(payload))
        return closed_event(closing, self.rules)

    def _contact(self, sender: dict, contact_id: str) -> Contact:
        """`meta.sender`, completed from the contacts API when it lacks email and phone, or custom attributes."""
        if (sender.get("email") or sender.get("phone_number")) and isinstance(sender.get("custom_attributes"), dict):
            found = sender
        else:
            found = self.api.get(f"/api/v1/accounts/{self.account_id}/contacts/{contact_id}",
                                 what=f"Chatwoot contact {contact_id}").get("payload") or {}
        attributes = {**(found.get("additional_attributes") or {}), **(found.get("custom_attributes") or {})}
        return Contact(id=contact_id, name=found.get("name") or sender.get("name"), email=found.get("email"),
                       phone=found.get("phone_number"), attributes=attributes)

    def _message(self, payload: dict, delivery_id: str, now: datetime) -> dict | Ignored:
        if payload.get("message_type") != "incoming" or payload.get("private"):
            return Ignored("not a message from the contact (an agent's reply or a private note)")
        conversation = path(payload, "conversation.id")
        customer = path(payload, "sender.id") or path(payload, "conversation.meta.sender.id")
        if customer is None:
            required(payload, "sender.id", desk="Chatwoot")
        return contacted_event(desk=self.name, delivery_id=delivery_id, occurred_at=now, customer_id=str(customer),
                               native_id=text_or_none(conversation))

    def check(self) -> list[CheckLine]:
        def profile(me: dict) -> list[CheckLine]:
            accounts = {str(a.get("id")) for a in me.get("accounts") or [] if isinstance(a, dict)}
            mine = self.account_id in accounts
            return [CheckLine(True, f"access token works: {me.get('name')} <{me.get('email')}>"),
                    CheckLine(mine, f"account {self.account_id} " + ("is one of this token's accounts" if mine else
                              f"is not among this token's accounts ({', '.join(sorted(accounts)) or 'none'})"))]

        return credentials_check(secret_set=bool(self._secret), secret_names="chatwoot.webhook_secret", api=self.api,
                                 api_names="chatwoot.base_url, chatwoot.account_id and chatwoot.api_access_token",
                                 purpose="look contacts up and to reopen conversations", probe="/api/v1/profile",
                                 credential="access token", describe=profile)

    def paste(self, public_base_url: str) -> list[str]:
        return ["Settings → Integrations → Webhooks → Add new webhook",
                f"  Webhook URL: {public_base_url.rstrip('/')}/webhooks/chatwoot",
                f"  Events: Conversation Status Changed, Message Created, Conversation Updated ({', '.join(EVENTS)})",
                "  Then copy the webhook's secret into chatwoot.webhook_secret."]


def _csat(payload: dict) -> float | None:
    """The rating, when the resolved conversation already carries an answered CSAT survey (1–5)."""
    for message in payload.get("messages") or []:
        rating = path(message, "content_attributes.submitted_values.csat_survey_response.rating")
        if rating is not None:
            return rating_sentiment(rating, worst=1, best=5)
    return None
