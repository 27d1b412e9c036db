"""SIMULATED help desks for tests: how each desk signs its webhooks, its fixture payloads (cited in each file), and
the settings that point its API at a local fake (pytest-httpserver) — one `DeskCase` per desk, so the same tests
run against every desk."""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

FIXTURES = Path(__file__).with_name("fixtures")
SECRET = "desk-webhook-secret"
WRONG = "not-the-secret"


def fixture(desk: str, name: str) -> dict:
    """A fixture's payload (each file says where its shape comes from, in `source`)."""
    return json.loads((FIXTURES / desk / f"{name}.json").read_text(encoding="utf-8"))["payload"]


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def zendesk_headers(body: bytes, at: datetime, secret: str = SECRET) -> dict:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    mac = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {"X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp, "X-Zendesk-Webhook-Id": "01GK8E6BKWMJZD2T8Y5AXJQMG5"}


def chatwoot_headers(body: bytes, at: datetime, secret: str = SECRET, delivery: str | None = None) -> dict:
    stamp = str(int(at.timestamp()))
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Chatwoot-Signature": f"sha256={mac}", "X-Chatwoot-Timestamp": stamp,
            "X-Chatwoot-Delivery": delivery or str(uuid.uuid4())}


def hub_headers(body: bytes, secret: str = SECRET) -> dict:
    return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def zammad_headers(body: bytes, at: datetime, secret: str = SECRET, delivery: str | None = None) -> dict:
    return {**hub_headers(body, secret), "X-Zammad-Trigger": "Aftercare", "X-Zammad-Delivery":
            delivery or uuid.uuid4().hex}


def freshdesk_headers(body: bytes, at: datetime, secret: str = SECRET) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"aftercare:{secret}".encode()).decode()}


@dataclass
class DeskCase:
    """One desk as the shared tests drive it."""

    name: str
    sign: Callable[..., dict]  # (body, at, secret=…) → headers
    settings: Callable[[str], dict]  # the fake's base URL → settings sections
    close: str  # fixture of a close that schedules a check-in
    ignored: str  # fixture of an event we do not act on
    contacted: str | None  # fixture of the customer coming back
    customer_id: str
    checkin: tuple[str, str]  # channel, address
    timezone: str
    lookups: dict[str, str]  # API path → fixture the close's look-ups read
    failing_lookup: str  # the look-up the failure test breaks
    reopen: list[tuple[str, str]]  # (method, path) of the calls a reopen makes, in order
    desk_ref: str
    stale: bool = True  # the desk signs a timestamp (a stale one is refused)
    close_looks_up: bool = True  # the close fixture lacks contact details the desk's API has
    needs_lookup: Callable[[dict], dict] = field(default=lambda payload: payload)

    def payload(self, name: str | None = None) -> dict:
        return fixture(self.name, name or self.close)

    def headers(self, body: bytes, at: datetime, **kwargs) -> dict:
        return {"Content-Type": "application/json", **self.sign(body, at, **kwargs)}


def _zammad_without_customer(payload: dict) -> dict:
    """A custom Zammad payload that names the customer by id only: the connector asks /api/v1/users/{id}."""
    payload = copy.deepcopy(payload)
    del payload["ticket"]["customer"]
    return payload


CASES = {case.name: case for case in (
    DeskCase(name="zendesk", sign=zendesk_headers,
             settings=lambda url: {"zendesk": {"base_url": url, "email": "bot@acme.test", "api_token": "zd-token",
                                               "webhook_signing_secret": SECRET}},
             close="ticket_solved", ignored="ticket_created", contacted="comment_by_requester",
             customer_id="zendesk:8447388090494", checkin=("email", "sam@example.com"), timezone="Europe/London",
             lookups={"/api/v2/users/8447388090494.json": "user_requester",
                      "/api/v2/users/8447388090496.json": "user_agent"},
             failing_lookup="/api/v2/users/8447388090494.json", reopen=[("PUT", "/api/v2/tickets/5158.json")],
             desk_ref="5158"),
    DeskCase(name="chatwoot", sign=chatwoot_headers,
             settings=lambda url: {"chatwoot": {"base_url": url, "account_id": "1", "api_access_token": "cw-token",
                                                "webhook_secret": SECRET}},
             close="conversation_resolved", ignored="conversation_created", contacted="message_created",
             customer_id="chatwoot:42", checkin=("sms", "+13125550142"), timezone="America/Chicago",
             lookups={"/api/v1/accounts/1/contacts/42": "contact"}, failing_lookup="/api/v1/accounts/1/contacts/42",
             reopen=[("POST", "/api/v1/accounts/1/conversations/1207/toggle_status"),
                     ("POST", "/api/v1/accounts/1/conversations/1207/messages"),
                     ("POST", "/api/v1/accounts/1/conversations/1207/assignments")], desk_ref="1207"),
    DeskCase(name="intercom", sign=lambda body, at, secret=SECRET: hub_headers(body, secret),
             settings=lambda url: {"intercom": {"api_base_url": url, "access_token": "ic-token",
                                                "client_secret": SECRET, "admin_id": "814860"}},
             close="conversation_closed", ignored="user_created", contacted="user_replied",
             customer_id="intercom:5bc8f7ae2d96695c18a", checkin=("sms", "+61412345678"), timezone="Australia/Sydney",
             lookups={"/contacts/5bc8f7ae2d96695c18a": "contact", "/admins/814860": "admin"},
             failing_lookup="/contacts/5bc8f7ae2d96695c18a",
             reopen=[("POST", "/conversations/137324500000000/parts"),
                     ("POST", "/conversations/137324500000000/reply")], desk_ref="137324500000000", stale=False),
    DeskCase(name="zammad", sign=zammad_headers,
             settings=lambda url: {"zammad": {"base_url": url, "api_token": "zm-token", "webhook_secret": SECRET}},
             close="ticket_closed", ignored="internal_note", contacted="customer_article",
             customer_id="zammad:8", checkin=("email", "emily@example.com"), timezone="UTC",
             lookups={"/api/v1/users/8": "user"}, failing_lookup="/api/v1/users/8",
             reopen=[("PUT", "/api/v1/tickets/81")], desk_ref="81", stale=False, close_looks_up=False,
             needs_lookup=_zammad_without_customer),
    DeskCase(name="freshdesk", sign=freshdesk_headers,
             settings=lambda url: {"freshdesk": {"base_url": url, "api_key": "fd-key", "webhook_user": "aftercare",
                                                 "webhook_password": SECRET}},
             close="ticket_resolved", ignored="ticket_pending", contacted=None,
             customer_id="freshdesk:9001", checkin=("sms", "+12125550199"), timezone="America/New_York",
             lookups={"/api/v2/contacts/9001": "contact"}, failing_lookup="/api/v2/contacts/9001",
             reopen=[("PUT", "/api/v2/tickets/4711"), ("POST", "/api/v2/tickets/4711/notes")], desk_ref="4711",
             stale=False),
)}


def serve_lookups(httpserver, case: DeskCase, *, skip: str | None = None) -> None:
    """The fake desk answers the close's contact look-ups from the fixtures (all but `skip`)."""
    for api_path, name in case.lookups.items():
        if api_path != skip:
            httpserver.expect_request(api_path, method="GET").respond_with_json(fixture(case.name, name))


def stale(at: datetime) -> datetime:
    return at - timedelta(minutes=10)


def configure_desks(overrides: dict, base_url: str = "http://127.0.0.1:9") -> None:
    """Every desk configured (secrets set; its API at `base_url`), so each route checks a real signature."""
    for case in CASES.values():
        for section, values in case.settings(base_url).items():
            overrides[section] = {**overrides.get(section, {}), **values}
