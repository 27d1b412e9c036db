"""Zammad: `POST /webhooks/zammad` — a trigger's webhook, signed with the webhook's HMAC token.

Signature: `X-Hub-Signature: sha1=<hex HMAC-SHA1(zammad.webhook_secret, raw body)>`; `X-Zammad-Delivery` (a random
id per delivery) de-duplicates. The default payload is `{ticket, article}` (zammad-admin-documentation
`manage/webhook/payload.rst`): a ticket in state `closed` is `interaction.closed`; otherwise an article from the
customer is `customer.contacted`, a public one from an agent `case.updated`. The ticket carries its customer
(`ticket.customer`); when a custom payload sends only `customer_id`, `GET /api/v1/users/{id}` fills it in. Zammad
users have no time zone field: the `connectors.timezone_attribute` attribute (a custom object field), else
`connectors.default_timezone`. Tags come from `ticket.tags` when the payload carries them.
"""
from __future__ import annotations

from datetime import datetime

from intake.connectors.api import DeskApi, credentials_check
from intake.connectors.base import CheckLine, Delivery, Ignored, path, required, verify_hub_signature
from intake.connectors.mapping import (
    Closing, Contact, MappingRules, closed_event, contacted_event, iso_time, priority_of, split_tags, text_or_none,
    updated_event,
)

CHANNELS = {"email": "email", "phone": "voice", "sms": "sms", "whatsapp message": "whatsapp", "whatsapp": "whatsapp",
            "chat": "chat", "web": "chat", "telegram personal-message": "chat"}
NOBODY = "1"  # Zammad's system user "-": an unassigned ticket's owner


class ZammadConnector:
    name = "zammad"

    def __init__(self, *, secret: str, api: DeskApi, rules: MappingRules) -> None:
        self._secret, self.api, self.rules = secret, api, rules

    @classmethod
    def from_config(cls, settings) -> "ZammadConnector":
        z, c = settings.zammad, settings.connectors
        return cls(secret=z.webhook_secret.reveal(), rules=MappingRules.from_settings(c),
                   api=DeskApi(desk="zammad", base_url=z.base_url if z.api_token else "",
                               headers={"Authorization": f"Token token={z.api_token.reveal()}"},
                               timeout=c.timeout_seconds, attempts=c.lookup_attempts,
                               cache_seconds=c.lookup_cache_seconds))

    def verify(self, delivery: Delivery, *, now: float) -> None:
        verify_hub_signature(delivery, self._secret, "zammad (zammad.webhook_secret)")

    def delivery_id(self, delivery: Delivery, payload: dict) -> str:
        return text_or_none(delivery.header("X-Zammad-Delivery")) or delivery.body_digest()

    def translate(self, payload: dict, *, delivery_id: str, now: datetime) -> dict | Ignored:
        if not isinstance(payload.get("ticket"), dict):
            return Ignored("not a Zammad ticket trigger payload ({ticket, article}): nothing to act on")
        ticket, article = payload["ticket"], payload.get("article") if isinstance(payload.get("article"), dict) else {}
        number = required(payload, "ticket.id", desk="Zammad")
        at = iso_time(ticket.get("updated_at")) or now
        state = str(ticket.get("state") or path(ticket, "state.name") or "").lower()
        if state == "closed":
            return self._closed(ticket, article, number, delivery_id, at)
        sender = str(article.get("sender") or "")
        if sender == "Customer":
            customer = text_or_none(ticket.get("customer_id")) or required(payload, "ticket.customer.id", desk="Zammad")
            return contacted_event(desk=self.name, delivery_id=delivery_id, occurred_at=at, customer_id=customer,
                                   native_id=number)
        if sender == "Agent" and not article.get("internal"):
            return updated_event(desk=self.name, delivery_id=delivery_id, occurred_at=at, native_id=number,
                                 status="open")
        return Ignored(f"ticket state {state or '(none)'!r} with no customer article or public agent reply: "
                       "nothing to act on")

    def _closed(self, ticket: dict, article: dict, number: str, delivery_id: str, at: datetime) -> dict:
        customer_id = text_or_none(ticket.get("customer_id")) or required({"ticket": ticket}, "ticket.customer.id",
                                                                           desk="Zammad")
        owner = ticket.get("owner") if isinstance(ticket.get("owner"), dict) else {}
        owner_id = text_or_none(ticket.get("owner_id")) or text_or_none(owner.get("id"))
        kind = str(article.get("type") or ticket.get("create_article_type") or "").lower()
        closing = Closing(desk=self.name, delivery_id=delivery_id, native_id=number, occurred_at=at,
                          channel=CHANNELS.get(kind, "chat"), contact=self._customer(ticket, customer_id),
                          agent_id=owner_id if owner_id != NOBODY else None, agent_name=_full_name(owner),
                          team=text_or_none(path(ticket, "group.name")) or text_or_none(ticket.get("group")),
                          tags=split_tags(ticket.get("tags")),
                          priority=priority_of(path(ticket, "priority.name") or ticket.get("priority")),
                          started_at=iso_time(ticket.get("created_at")))
        return closed_event(closing, self.rules)

    def _customer(self, ticket: dict, customer_id: str) -> Contact:
        user = ticket.get("customer") if isinstance(ticket.get("customer"), dict) else {}
        if not (user.get("email") or user.get("phone") or user.get("mobile")):
            user = self.api.get(f"/api/v1/users/{customer_id}", what=f"Zammad user {customer_id}")
        return Contact(id=customer_id, name=_full_name(user), email=user.get("email"),
                       phone=user.get("mobile") or user.get("phone"), attributes=user)

    def check(self) -> list[CheckLine]:
        def signed_in(me: dict) -> list[CheckLine]:
            return [CheckLine(True, f"API token works: signed in as {me.get('login') or me.get('email')}")]

        return credentials_check(secret_set=bool(self._secret), secret_names="zammad.webhook_secret", api=self.api,
                                 api_names="zammad.base_url and zammad.api_token",
                                 purpose="look users up and to reopen tickets", probe="/api/v1/users/me",
                                 credential="API token", describe=signed_in)

    def paste(self, public_base_url: str) -> list[str]:
        return ["Settings → Manage → Webhook → New Webhook",
                f"  Endpoint: {public_base_url.rstrip('/')}/webhooks/zammad",
                f"  HMAC SHA1 Signature Token: {self._secret or '(set zammad.webhook_secret first)'}",
                "Settings → Manage → Trigger → New Trigger: Action is always; conditions 'State is closed' OR "
                "'Article sender is Customer'; Execute: Webhook → the webhook above"]


def _full_name(user: dict) -> str | None:
    return " ".join(p for p in (text_or_none(user.get("firstname")), text_or_none(user.get("lastname"))) if p) or None
