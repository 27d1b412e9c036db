"""CRM webhook signatures: `Aftercare-Signature: t=<unix>,v1=<hex hmac-sha256(secret, "<t>.<raw body>")>`."""
from __future__ import annotations

import hashlib
import hmac
import time


class SignatureError(Exception):
    """Why a signature was refused (safe to show: says nothing about the secret)."""


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a CRM sends; also used by the README tour, the demo and tests."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def safe_equals(presented: str | None, expected: str) -> bool:
    """Constant-time comparison of request text with a secret; never raises (compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest((presented or "").encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


def _unix_time(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 12


def within_replay_window(timestamp: str | None, *, tolerance: int, now: float) -> bool:
    """A signed request's own timestamp (decimal unix seconds) is at most `tolerance` seconds from now, either
    way: an older one is a replay, a newer one a clock that cannot be trusted."""
    return bool(timestamp) and _unix_time(timestamp) and abs(now - int(timestamp)) <= tolerance


def verify(header: str | None, body: bytes, secrets: list[str], *, tolerance: int = 300,
           now: float | None = None) -> int:
    """Check timestamp and any v1 against any current secret (rotation), in constant time; return t."""
    if not header:
        raise SignatureError("missing Aftercare-Signature header")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not _unix_time(timestamp) or not candidates:
        raise SignatureError("malformed Aftercare-Signature header: expected t=<unix>,v1=<hex>")
    if not within_replay_window(timestamp, tolerance=tolerance, now=time.time() if now is None else now):
        raise SignatureError(f"timestamp outside the {tolerance} s window (replayed or clock skew)")
    ok = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        for candidate in candidates:
            ok |= safe_equals(candidate, expected)
    if not ok:
        raise SignatureError("signature does not match")
    return int(timestamp)
