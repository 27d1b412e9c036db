"""WhatsApp check-ins as WhatsApp and Twilio's Content API take them (pure: no SDK, no database).

Outside the 24-hour customer-service window (counted from the customer's last WhatsApp message to us) WhatsApp
delivers only an approved template, sent as a Content SID and its variables; inside it, free text goes. The check-in
template is the locale's `whatsapp_template` line (config/templates/<locale>.toml) with two quick-reply buttons
whose ids, `resolved` and `reopen`, come back as the reply's `ButtonPayload`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping

from followup.locales import TEMPLATES, locale_candidates, templates_for

SESSION_WINDOW = timedelta(hours=24)
BUTTON_INTENTS = {"resolved": "resolved", "reopen": "reopen"}  # ButtonPayload → the reply's intent
MAX_BODY = 1024  # WhatsApp: a template body
MAX_BUTTON_TITLE = 20  # WhatsApp: a quick-reply button
CATEGORY = "UTILITY"  # a follow-up on the customer's own support case, not marketing
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def in_session(inbound_age: timedelta | None) -> bool:
    """Inside the customer-service window: the customer wrote to us on WhatsApp less than 24 h ago."""
    return inbound_age is not None and timedelta(0) <= inbound_age < SESSION_WINDOW


def template_locales() -> list[str]:
    """The locales a check-in template exists for (one per config/templates file with a `whatsapp_template`)."""
    return sorted(p.stem for p in TEMPLATES.glob("*.toml") if "whatsapp_template" in templates_for(p.stem))


def _order(template: str) -> list[str]:
    """Field names in order of first appearance: WhatsApp numbers variables {{1}}, {{2}}… as they occur."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(template)))


@dataclass(frozen=True)
class CheckinContent:
    """One locale's check-in template, in the Content API's terms."""

    locale: str
    name: str
    body: str  # with {{1}}…{{n}}
    variables: dict[str, str]  # sample values, shown to WhatsApp's reviewers
    buttons: tuple[tuple[str, str], ...]  # (id, title)


def checkin_content(locale: str, name_prefix: str) -> CheckinContent:
    t = templates_for(locale)
    order = _order(t["whatsapp_template"])
    body = _PLACEHOLDER.sub(lambda m: "{{%d}}" % (order.index(m.group(1)) + 1), t["whatsapp_template"])
    samples = {"customer_first_name": "Sam", "agent_first_name": "Maria", "company": "Acme", "issue": "a double charge",
               "when": t["yesterday"]}
    return CheckinContent(
        locale=locale, name=f"{name_prefix}_{locale}".lower().replace("-", "_"), body=body,
        variables={str(n): samples[field] for n, field in enumerate(order, 1)},
        buttons=(("resolved", t["whatsapp_button_resolved"]), ("reopen", t["whatsapp_button_reopen"])))


def content_variables(locale: str, fields: Mapping[str, str]) -> dict[str, str]:
    """The check-in's fields numbered as that locale's template numbers them."""
    return {str(n): fields[field] for n, field in enumerate(_order(templates_for(locale)["whatsapp_template"]), 1)}


def template_text(locale: str, fields: Mapping[str, str]) -> str:
    """What the customer reads once the template is filled (Twilio stores it as the message body)."""
    return _PLACEHOLDER.sub(lambda m: fields[m.group(1)], templates_for(locale)["whatsapp_template"])


def choose_template(templates: Mapping[str, Mapping], locale: str | None) -> tuple[str, str] | None:
    """(the locale whose template it is, its Content SID): the customer's locale, its language, else `en`."""
    for candidate in [*locale_candidates(locale), "en"]:
        sid = (templates.get(candidate) or {}).get("checkin")
        if sid:
            return candidate, sid
    return None


def template_problems(templates: object) -> list[str]:
    """What is wrong with `whatsapp.templates` (checked at start): {locale = {checkin = "HX…"}} per locale."""
    if not isinstance(templates, Mapping):
        return ["whatsapp.templates must be a table of locales"]
    problems = []
    for locale, entry in templates.items():
        sid = entry.get("checkin") if isinstance(entry, Mapping) else None
        if not (isinstance(sid, str) and re.fullmatch(r"HX[0-9a-fA-F]{32}", sid)):
            problems.append(f'whatsapp.templates.{locale}.checkin must be a Content SID ("HX" and 32 hex digits)')
    return problems


@dataclass(frozen=True)
class Delivery:
    """How one check-in goes: free text, or a template (its SID and variables); `refused` says why it cannot."""

    kind: str  # "text" | "template" | "refused"
    content_sid: str | None = None
    variables: dict[str, str] | None = None
    template_locale: str | None = None
    reason: str = ""


def template_delivery(*, templates: Mapping[str, Mapping], locale: str | None,
                      fields: Mapping[str, str] | None) -> Delivery:
    chosen = choose_template(templates, locale)
    if chosen is None:
        return Delivery("refused", reason=f"outside the WhatsApp 24-hour window and no approved template is configured "
                                          f"for {locale or 'en'} or en (whatsapp.templates)")
    if not fields:
        return Delivery("refused", reason="outside the WhatsApp 24-hour window and the check-in has no template fields")
    template_locale, sid = chosen
    return Delivery("template", content_sid=sid, variables=content_variables(template_locale, fields),
                    template_locale=template_locale)


def plan_delivery(*, inbound_age: timedelta | None, needs_template: bool, templates: Mapping[str, Mapping],
                  locale: str | None, fields: Mapping[str, str] | None) -> Delivery:
    """Free text inside the window (unless WhatsApp already refused it for this check-in), else the template."""
    if in_session(inbound_age) and not needs_template:
        return Delivery("text")
    return template_delivery(templates=templates, locale=locale, fields=fields)
