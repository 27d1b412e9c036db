"""Intercom: `POST /webhooks/intercom` — webhook topics of an Intercom app, signed with its client secret.

Signature: `X-Hub-Signature: sha1=<hex HMAC-SHA1(intercom.client_secret, raw body)>` (no timestamp is sent; the
notification's `id` de-duplicates). A `HEAD` to the URL (Intercom's check when the URL is saved) answers 200.

Envelope `{type: "notification_event", id, topic, created_at, data: {item: Conversation}}`:
`conversation.admin.closed` is `interaction.closed`, `conversation.user.replied` is `customer.contacted`,
`conversation.admin.replied` is `case.updated`. A conversation names its contacts by id only:
`GET /contacts/{id}` gives email and phone (time zone: the `connectors.timezone_attribute` custom attribute), and
`GET /admins/{id}` the assignee's name.
"""
from __future__ import annotations

from datetime import datetime

from intake.connectors.api import DeskApi, credentials_check
from intake.connectors.base import CheckLine, Delivery, Ignored, LookupFailed, path, required, verify_hub_signature
from intake.connectors.mapping import (
    Closing, Contact, MappingRules, closed_event, contacted_event, rating_sentiment, split_tags, text_or_none,
    unix_time, updated_event,
)

TOPICS = ("conversation.admin.closed", "conversation.user.replied", "conversation.admin.replied")
CHANNELS = {"email": "email", "phone_call": "voice", "call": "voice", "sms": "sms", "whatsapp": "whatsapp"}
API_VERSION = "2.11"


class IntercomConnector:
    name = "intercom"

    def __init__(self, *, secret: str, api: DeskApi, rules: MappingRules) -> None:
        self._secret, self.api, self.rules = secret, api, rules

    @classmethod
    def from_config(cls, settings) -> "IntercomConnector":
        i, c = settings.intercom, settings.connectors
        return cls(secret=i.client_secret.reveal(), rules=MappingRules.from_settings(c),
                   api=DeskApi(desk="intercom", base_url=i.api_base_url if i.access_token else "",
                               headers={"Authorization": f"Bearer {i.access_token.reveal()}",
                                        "Intercom-Version": API_VERSION},
                               timeout=c.timeout_seconds, attempts=c.lookup_attempts,
                               cache_seconds=c.lookup_cache_seconds))

    def verify(self, delivery: Delivery, *, now: float) -> None:
        verify_hub_signature(delivery, self._secret, "intercom (intercom.client_secret)")

    def delivery_id(self, delivery: Delivery, payload: dict) -> str:
        return text_or_none(payload.get("id")) or delivery.body_digest()

    def translate(self, payload: dict, *, delivery_id: str, now: datetime) -> dict | Ignored:
        topic = str(payload.get("topic") or "")
        if topic not in TOPICS:
            return Ignored(f"Intercom topic {topic or '(none)'!r} is not one Aftercare acts on "
                           f"(subscribe to {', '.join(TOPICS)})")
        item = path(payload, "data.item") or {}
        conversation = required(payload, "data.item.id", desk="Intercom")
        at = unix_time(payload.get("created_at")) or now
        if topic == "conversation.admin.replied":
            return updated_event(desk=self.name, delivery_id=delivery_id, occurred_at=at, native_id=conversation)
        contacts = path(item, "contacts.contacts") or []
        if not contacts or not isinstance(contacts[0], dict) or not text_or_none(contacts[0].get("id")):
            required(payload, "data.item.contacts.contacts.0.id", desk="Intercom")
        contact_id = str(contacts[0]["id"])
        if topic == "conversation.user.replied":
            return contacted_event(desk=self.name, delivery_id=delivery_id, occurred_at=at, customer_id=contact_id,
                                   native_id=conversation)
        admin = text_or_none(item.get("admin_assignee_id"))
        closing = Closing(desk=self.name, delivery_id=delivery_id, native_id=conversation, occurred_at=at,
                          channel=CHANNELS.get(str(path(item, "source.type") or ""), "chat"),
                          contact=self._contact(contact_id), agent_id=admin,
                          team=(text_or_none(item.get("team_assignee_id"))
                                and f"intercom-team-{item['team_assignee_id']}"),
                          tags=split_tags(path(item, "tags.tags")),
                          priority="high" if item.get("priority") == "priority" else None,
                          sentiment=rating_sentiment(path(item, "conversation_rating.rating"), worst=1, best=5),
                          repeat_contacts=path(item, "statistics.count_reopens") or 0,
                          started_at=unix_time(item.get("created_at")))
        if admin:
            closing.agent_name = self._admin_name(admin, closing.notes)
        return closed_event(closing, self.rules)

    def _contact(self, contact_id: str) -> Contact:
        found = self.api.get(f"/contacts/{contact_id}", what=f"Intercom contact {contact_id}")
        attributes = found.get("custom_attributes") or {}
        return Contact(id=contact_id, name=found.get("name"), email=found.get("email"),
                       phone=found.get("formatted_phone") or found.get("phone"),
                       locale=found.get("language_override") or found.get("browser_language"), attributes=attributes)

    def _admin_name(self, admin_id: str, notes: list[str]) -> str | None:
        try:
            return self.api.get(f"/admins/{admin_id}", what=f"Intercom admin {admin_id}").get("name")
        except LookupFailed as exc:
            notes.append(f"agent name unknown: {exc}")
            return None

    def check(self) -> list[CheckLine]:
        def workspace(me: dict) -> list[CheckLine]:
            return [CheckLine(True, f"access token works: {me.get('name')} in workspace {path(me, 'app.name')} "
                                    f"({path(me, 'app.id_code')})")]

        return credentials_check(secret_set=bool(self._secret), secret_names="intercom.client_secret", api=self.api,
                                 api_names="intercom.access_token and intercom.api_base_url",
                                 purpose="look contacts up and to reopen conversations", probe="/me",
                                 credential="access token", describe=workspace)

    def paste(self, public_base_url: str) -> list[str]:
        return ["Developer Hub → your app → Webhooks",
                f"  Endpoint URL: {public_base_url.rstrip('/')}/webhooks/intercom",
                f"  Topics: {', '.join(TOPICS)}",
                "  Then copy the app's Client secret (Basic information) into intercom.client_secret."]
