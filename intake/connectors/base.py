"""The small Protocol every native help-desk connector implements, and what it hands back.

A connector verifies its desk's own scheme, names the delivery (for de-duplication), and maps the desk's payload
to one SPEC §3 event — or says why it ignores it. It may ask its desk's API for a contact the payload lacks
(`intake.connectors.api`); a look-up that fails raises `LookupFailed`, which the intake records on the event.
Connectors are picked by path (`/webhooks/<name>`) from the registry in `intake/connectors/__init__.py`.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Protocol, runtime_checkable

from aftercare.core.problems import Problem
from aftercare.core.signing import safe_equals


class Refused(Exception):
    """The delivery is not the desk's: a missing, forged or stale signature, or wrong credentials (a 401)."""


class LookupFailed(Exception):
    """The desk's API could not give a contact the payload lacks (after retries); says which and why."""


@dataclass(frozen=True)
class Ignored:
    """A delivery we do not act on: answered 200 (desks retry anything else) with this reason; nothing is stored."""

    reason: str


@dataclass(frozen=True)
class Delivery:
    """One webhook request as a connector sees it: headers, the raw body, and basic-auth credentials if sent."""

    headers: Mapping[str, str]
    body: bytes
    basic_auth: tuple[str, str] | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def body_digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()[:32]


@dataclass(frozen=True)
class CheckLine:
    """One line of `flask connectors check`: ok True/False, or None for advice."""

    ok: bool | None
    text: str


@runtime_checkable
class DeskConnector(Protocol):
    name: str

    def verify(self, delivery: Delivery, *, now: float) -> None:
        """Raise Refused unless the delivery is signed (or authenticated) as the desk does it."""

    def delivery_id(self, delivery: Delivery, payload: dict) -> str:
        """The desk's own id of this delivery or event, the same on each of its retries."""

    def translate(self, payload: dict, *, delivery_id: str, now: datetime) -> dict | Ignored:
        """One SPEC §3 event (its id made from `delivery_id`), or why not; may call the desk's API (raising
        LookupFailed). Needs nothing of the request but the payload, so a failed look-up can be tried again later."""

    def check(self) -> list[CheckLine]:
        """Call the desk's API with the configured credentials: what works, what does not."""

    def paste(self, public_base_url: str) -> list[str]:
        """What a support admin pastes into the desk: URL, secret, events."""


def hmac_hex(secret: str, message: bytes, digest) -> str:
    return hmac.new(secret.encode(), message, digest).hexdigest()


def verify_hub_signature(delivery: Delivery, secret: str, desk: str) -> None:
    """`X-Hub-Signature: sha1=<hex HMAC-SHA1(secret, raw body)>` (Intercom, Zammad): no timestamp to check."""
    if not secret:
        raise Refused(f"{desk} is not configured here: set its webhook secret")
    presented = delivery.header("X-Hub-Signature") or ""
    if not presented.startswith("sha1="):
        raise Refused("missing or malformed X-Hub-Signature (expected sha1=<hex>)")
    if not safe_equals(presented[5:].lower(), hmac_hex(secret, delivery.body, hashlib.sha1)):
        raise Refused("signature does not match")


def within(timestamp: datetime | None, *, now: float, window: int) -> bool:
    return timestamp is not None and abs(now - timestamp.timestamp()) <= window


def path(payload, dotted: str):
    """`a.b.c` in nested dicts, or None."""
    for part in dotted.split("."):
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload


def required(payload: dict, dotted: str, *, desk: str) -> str:
    """A field the mapping cannot do without: a 422 problem naming it (in the desk's own terms) when absent."""
    value = path(payload, dotted)
    if value is None or isinstance(value, (dict, list)) or str(value).strip() == "":
        raise Problem(422, "Invalid request body", f"This {desk} payload has no {dotted}.", kind="validation",
                      errors=[{"field": dotted, "message": "Missing in the desk's payload."}])
    return str(value).strip()
