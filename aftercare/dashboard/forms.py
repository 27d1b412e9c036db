"""Forms: a CSRF token per session on every form, and parsing of the rules editor's fields."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from flask import request, session

import wellbeing.services as wellbeing
from aftercare.core.strict_json import JsonRefused, parse_json
from aftercare.dashboard import rule_editor

CSRF_FIELD = "csrf_token"
MAX_DOCUMENT_CHARS = 100_000
ACTIONS = ("simulate", "publish", "apply_json", "preview")


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
    """What a simulation covered: publishing checks that the manager saw these exact rules simulated (compared in
    their stored form, so the same rules from the form or from the JSON view match)."""
    stored = wellbeing.canonical_rule_document(document)
    if stored is not None:
        stored.pop("scope", None)  # publishing writes the team being edited
    return hashlib.sha256(f"{team or ''}\n{canonical(document if stored is None else stored)}".encode()).hexdigest()


def small_number(text: str) -> int:
    """A form's whole number such as a day count or a version: ASCII digits only (`"²".isdigit()` is true, and
    int() refuses it), at most 9 of them (beyond any integer column); 0 for anything else."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0


@dataclass
class RulesForm:
    """The rules page's post. The document comes from the form's fields, or from the advanced JSON view when
    that text was edited (it differs from the JSON the page was drawn with) or applied on purpose."""

    team: str | None
    text: str
    reason: str
    action: str
    window_days: int
    simulated: str
    values: dict[str, str] = field(default_factory=dict)
    rule_count: int = 0
    source: str = "form"
    focus: str = ""
    document: object = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_request(cls) -> "RulesForm":
        form = request.form
        days_raw = form.get("window_days", "7").strip()
        parsed = cls(team=form.get("team", "").strip() or None, text=form.get("document", ""),
                     reason=form.get("reason", "").strip(), action=form.get("action", "simulate"),
                     window_days=small_number(days_raw), simulated=form.get("simulated", ""),
                     values={k: v for k, v in form.items() if k.startswith(rule_editor.PREFIXES)},
                     rule_count=min(small_number(form.get("rule_count", "")), rule_editor.MAX_RULES))
        edited_json = "rule_count" not in form or form.get("document", "").strip() != form.get(
            "document_before", "").strip()
        parsed.source = "json" if edited_json or parsed.action == "apply_json" else "form"
        parsed._validate()
        return parsed

    @property
    def checks(self) -> bool:
        """Simulate and publish validate the rules; the editor's own buttons only redraw the form."""
        return self.action in ("simulate", "publish")

    def _validate(self) -> None:
        if self.action not in ACTIONS and not rule_editor.is_structural(self.action):
            self.errors["action"] = ["Choose Simulate or Publish."]
        if self.team is not None and len(self.team) > 128:
            self.errors["team"] = ["At most 128 characters."]
        if self.checks and not 1 <= self.window_days <= 31:
            self.errors["window_days"] = ["Between 1 and 31 days."]
        if self.source == "json":
            self._from_json()
        else:
            self._from_fields()
        if self.errors.get("document") or self.action != "publish":
            return
        if not self.reason:
            self.errors["reason"] = ["Say why you are changing the rules (kept in the history)."]
        if not hmac.compare_digest(self.simulated, digest(self.team, self.document)):
            self.errors["document"] = ["Simulate this exact version before publishing: it changed since the "
                                       "last simulation."]

    def _from_json(self) -> None:
        if len(self.text) > MAX_DOCUMENT_CHARS:
            self.errors["document"] = [f"At most {MAX_DOCUMENT_CHARS} characters."]
            return
        try:
            self.document = parse_json(self.text)
        except JsonRefused as exc:
            self.errors["document"] = [f"Not valid JSON: {exc}." if exc.malformed else str(exc)]
            return
        if isinstance(self.document, dict):
            self.values, self.rule_count = rule_editor.values_from_document(self.document)

    def _from_fields(self) -> None:
        if rule_editor.is_structural(self.action):
            self.values, self.rule_count, self.focus = rule_editor.apply_structural(self.action, self.values,
                                                                                    self.rule_count)
        self.document = rule_editor.document_from_values(self.values, self.rule_count, wellbeing.rule_form_spec(),
                                                         team=self.team)
