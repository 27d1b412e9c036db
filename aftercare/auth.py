"""API keys (stored as SHA-256 hashes) with scopes; `manager` may do anything `read` may."""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from typing import Callable

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.db import new_id
from aftercare.errors import Problem
from aftercare.models import ApiKey

SCOPES = ("crm", "agent", "manager", "read")
IMPLIED = {"manager": {"manager", "read", "agent"}, "read": {"read"}, "agent": {"agent"}, "crm": {"crm"}}


def hash_key(key: str) -> str:
    """Keys are 256-bit random, so a plain SHA-256 is enough (no password stretching needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(*, session: Session, name: str, scopes: list[str], agent_id: str | None = None) -> str:
    """Store a new key's hash and return the key itself: the only time it is seen.

    `agent_id` binds an `agent` key to one agent (a softphone or agent desktop): it may then act only on
    `/agents/<that id>/…`. Unbound agent keys are for integrations that act for every agent (a routing system).
    """
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValueError(f"unknown scope(s) {bad}; choose from {', '.join(SCOPES)}")
    if agent_id is not None and (not agent_id.strip() or set(scopes) != {"agent"}):
        raise ValueError("a key bound to an agent must have the agent scope alone, and a non-empty agent id")
    key = "ak_" + secrets.token_urlsafe(32)
    session.add(ApiKey(id=new_id("key"), name=name, prefix=key[:10], key_hash=hash_key(key), scopes=list(scopes),
                       agent_id=agent_id))
    session.commit()
    return key


def authenticate(session: Session, header: str | None) -> ApiKey | None:
    if not header or not header.lower().startswith("bearer "):
        return None
    presented = header[7:].strip()
    digest = hash_key(presented)
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row


def granted_scopes(key: ApiKey) -> set[str]:
    return set().union(*(IMPLIED.get(s, {s}) for s in key.scopes)) if key.scopes else set()


def require_scope(*allowed: str) -> Callable:
    """401 without a valid key, 403 when the key lacks every allowed scope."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            from aftercare.app import db_session

            key = authenticate(db_session(), request.headers.get("Authorization"))
            if key is None:
                raise Problem(401, "Unauthorized", "Send an API key as 'Authorization: Bearer <key>'.",
                              kind="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="aftercare"'})
            if not granted_scopes(key) & set(allowed):
                raise Problem(403, "Forbidden", f"This key lacks the scope needed here: {' or '.join(allowed)}.",
                              kind="forbidden")
            if key.agent_id is not None and kwargs.get("agent_id") != key.agent_id:
                raise Problem(403, "Forbidden", "This key belongs to one agent: it may act only on "
                                                f"/api/v1/agents/{key.agent_id}/….", kind="forbidden")
            g.api_key_name, g.api_key_scopes = key.name, granted_scopes(key)
            return view(*args, **kwargs)

        return wrapper

    return decorator
