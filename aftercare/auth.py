"""API keys (stored as SHA-256 hashes) with scopes; `manager` may do anything `read` may; revoked keys are a 401."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import g, request
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from aftercare.core.ids import new_id
from aftercare.core.problems import Problem
from aftercare.core.web import AUTHORIZE, db_session, runtime
from aftercare.models import ApiKey

SCOPES = ("crm", "agent", "manager", "read")
LAST_USED_RESOLUTION = timedelta(hours=1)
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


def note_use(session: Session, key: ApiKey, now: datetime) -> None:
    """Keep `last_used_at` to the hour, so `keys list` can tell a key in use from one safe to revoke while the
    read path writes at most once an hour per key. Commits: it runs before the view has done anything."""
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    session.execute(update(ApiKey).where(ApiKey.id == key.id, or_(
        ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION)).values(last_used_at=now))
    session.commit()


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first, revoked ones included (the caller never shows a key's hash)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def find_api_key(session: Session, ref: str) -> ApiKey:
    """The one key named by its id, its prefix (`ak_` and 7 characters, as `keys list` shows) or the whole key
    (found by its hash: a leaked key can be revoked as found). LookupError when none or several match."""
    ref = (ref or "").strip()
    found = session.scalars(select(ApiKey).where(or_(ApiKey.id == ref, ApiKey.prefix == ref,
                                                     ApiKey.key_hash == hash_key(ref)))).all()
    if not found:
        raise LookupError(f"no API key has the id or prefix {ref[:16]!r}")
    if len(found) > 1:
        raise LookupError(f"{ref!r} is the prefix of several keys; name one by id: {', '.join(k.id for k in found)}")
    return found[0]


def revoke_api_key(session: Session, *, ref: str, now: datetime) -> tuple[ApiKey, bool]:
    """Revoke a key for good: from now on it is a 401. Returns the key and whether this call revoked it (False:
    it already was, and its revocation time stays)."""
    key = find_api_key(session, ref)
    if key.revoked_at is not None:
        return key, False
    key.revoked_at = now
    session.commit()
    return key, True


def granted_scopes(key: ApiKey) -> set[str]:
    return set().union(*(IMPLIED.get(s, {s}) for s in key.scopes)) if key.scopes else set()


def authorize(allowed: tuple[str, ...], view_args: dict) -> None:
    """The check behind `aftercare.core.web.require_scope`: 401 without a valid key, 403 when the key lacks every
    allowed scope, or is bound to another agent than the one the route names."""
    key = authenticate(db_session(), request.headers.get("Authorization"))
    if key is None:
        raise Problem(401, "Unauthorized", "Send an API key as 'Authorization: Bearer <key>'.",
                      kind="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="aftercare"'})
    note_use(db_session(), key, runtime().clock())
    if not granted_scopes(key) & set(allowed):
        raise Problem(403, "Forbidden", f"This key lacks the scope needed here: {' or '.join(allowed)}.",
                      kind="forbidden")
    if key.agent_id is not None and view_args.get("agent_id") != key.agent_id:
        raise Problem(403, "Forbidden", "This key belongs to one agent: it may act only on "
                                        f"/api/v1/agents/{key.agent_id}/….", kind="forbidden")
    g.api_key_name, g.api_key_scopes = key.name, granted_scopes(key)


def init_app(app) -> None:
    app.extensions[AUTHORIZE] = authorize
