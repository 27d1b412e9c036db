"""Forms: a CSRF token per session on every form, and parsing of the rules editor's fields."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from flask import request, session

from aftercare.core.strict_json import JsonRefused, parse_json

CSRF_FIELD = "csrf_token"
MAX_DOCUMENT_CHARS = 100_000


def csrf_token() -> str:
    """The session's token (made on first use, rotated at sign-in)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def rotate_csrf() -> None:
    session["csrf"] = secrets.token_urlsafe(32)


def csrf_valid() -> bool:
    expected = session.get("csrf")
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    return bool(expected) and hmac.compare_digest(expected.encode(), sent.encode())


def canonical(document: object) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def digest(team: str | None, document: object) -> str:
    """What a simulation covered: publishing checks that the manager saw this exact document simulated."""
    return hashlib.sha256(f"{team or ''}\n{canonical(document)}".encode()).hexdigest()


def small_number(text: str) -> int:
    """A form's whole number such as a day count or a version: ASCII digits only (`"²".isdigit()` is true, and
    int() refuses it), at most 9 of them (beyond any integer column); 0 for anything else."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0


@dataclass
class RulesForm:
    team: str | None
    text: str
    reason: str
    action: str
    window_days: int
    simulated: str
    document: object = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_request(cls) -> "RulesForm":
        form = request.form
        days_raw = form.get("window_days", "7").strip()
        parsed = cls(team=form.get("team", "").strip() or None, text=form.get("document", ""),
                     reason=form.get("reason", "").strip(), action=form.get("action", "simulate"),
                     window_days=small_number(days_raw), simulated=form.get("simulated", ""))
        parsed._validate()
        return parsed

    def _validate(self) -> None:
        if self.action not in ("simulate", "publish"):
            self.errors["action"] = ["Choose Simulate or Publish."]
        if self.team is not None and len(self.team) > 128:
            self.errors["team"] = ["At most 128 characters."]
        if not 1 <= self.window_days <= 31:
            self.errors["window_days"] = ["Between 1 and 31 days."]
        if len(self.text) > MAX_DOCUMENT_CHARS:
            self.errors["document"] = [f"At most {MAX_DOCUMENT_CHARS} characters."]
            return
        try:
            self.document = parse_json(self.text)
        except JsonRefused as exc:
            self.errors["document"] = [f"Not valid JSON: {exc}." if exc.malformed else str(exc)]
            return
        if self.action == "publish":
            if not self.reason:
                self.errors["reason"] = ["Say why you are changing the rules (kept in the history)."]
            if not hmac.compare_digest(self.simulated, digest(self.team, self.document)):
                self.errors["document"] = ["Simulate this exact version before publishing: it changed since the "
                                           "last simulation."]
