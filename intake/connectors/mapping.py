"""What every desk's mapping shares: a desk's contact, tags, priority, rating and channel turned into our events.

Pure: no Flask, no HTTP. A desk module reads its own payload into a `Contact` and a `Closing`, and `closed_event`
builds the SPEC §3 `interaction.closed` from them — so consent, signals, time zones and ids follow one rule for
every desk. Contact details a desk holds but we cannot use (a local phone number, an unknown time zone) are left
out with a note, never a refusal: a desk retries a refused webhook for days and the close would be lost.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from marshmallow import ValidationError, validate

ID_LENGTH = 128
NAME_LENGTH = 200
PRIORITIES = ("low", "normal", "high", "urgent")
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "opted_in", "opt-in", "granted"})
# Rails time zone names (Zendesk's `time_zone`, Freshdesk's) that are not the last part of an IANA name.
RAILS_ZONES = {
    "Eastern Time (US & Canada)": "America/New_York", "Central Time (US & Canada)": "America/Chicago",
    "Mountain Time (US & Canada)": "America/Denver", "Pacific Time (US & Canada)": "America/Los_Angeles",
    "Atlantic Time (Canada)": "America/Halifax", "Alaska": "America/Juneau", "Hawaii": "Pacific/Honolulu",
    "Arizona": "America/Phoenix", "Indiana (East)": "America/Indiana/Indianapolis", "UTC": "UTC",
    "Edinburgh": "Europe/London", "Mid-Atlantic": "Atlantic/South_Georgia", "Beijing": "Asia/Shanghai",
    "Mumbai": "Asia/Kolkata", "New Delhi": "Asia/Kolkata", "Chennai": "Asia/Kolkata", "Kyiv": "Europe/Kyiv",
    "Osaka": "Asia/Tokyo", "Sapporo": "Asia/Tokyo", "Wellington": "Pacific/Auckland", "Brasilia": "America/Sao_Paulo",
    "Greenland": "America/Nuuk", "International Date Line West": "Etc/GMT+12", "Central America": "America/Guatemala",
}


@dataclass
class Contact:
    """A customer as a desk knows them; `attributes` are its custom attributes / user fields."""

    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    timezone: str | None = None
    locale: str | None = None
    attributes: Mapping = field(default_factory=dict)

    @property
    def reachable(self) -> bool:
        return bool(self.email or self.phone)


@dataclass
class Closing:
    """What a desk says about a closed ticket or conversation, in its own terms already read."""

    desk: str
    delivery_id: str
    native_id: str
    occurred_at: datetime
    channel: str  # voice, chat, email, sms, bot (SPEC §3), or "whatsapp" (a chat whose customer may get WhatsApp)
    contact: Contact
    agent_id: str | None = None
    agent_name: str | None = None
    team: str | None = None
    tags: tuple[str, ...] = ()
    priority: str | None = None  # one of PRIORITIES
    sentiment: float | None = None
    repeat_contacts: int = 0
    started_at: datetime | None = None
    notes: list[str] = field(default_factory=list)
    root_cause: str | None = None  # a desk field the agent filled on close (a tag `root_cause_<code>` also works)


@dataclass(frozen=True)
class MappingRules:
    """`[connectors]`: the settings every desk's mapping reads."""

    default_timezone: str = "UTC"
    tag_signals: Mapping[str, str] = field(default_factory=dict)
    sms_consent_attribute: str = "sms_consent"
    timezone_attribute: str = "timezone"
    root_cause_tag_prefix: str = "root_cause_"

    @classmethod
    def from_settings(cls, connectors) -> "MappingRules":
        return cls(default_timezone=connectors.default_timezone,
                   tag_signals={str(k).lower(): str(v) for k, v in dict(connectors.tag_signals).items()},
                   sms_consent_attribute=connectors.sms_consent_attribute,
                   timezone_attribute=connectors.timezone_attribute,
                   root_cause_tag_prefix=str(connectors.root_cause_tag_prefix).lower())


def root_cause_from_tags(tags: Iterable[str], rules: MappingRules) -> str | None:
    """The root cause an agent tagged the ticket with (`root_cause_billing_bug` → `billing_bug`), the last such tag."""
    prefix = rules.root_cause_tag_prefix
    found = [t.strip().lower()[len(prefix):] for t in tags if prefix and t.strip().lower().startswith(prefix)]
    found = [f.strip("_:- ") for f in found if f.strip("_:- ")]
    return found[-1][:200] if found else None


def event_id(desk: str, delivery_id: str) -> str:
    """Our event id for a desk delivery (`zendesk:<its id>`), hashed when the desk's id is too long to store."""
    return bounded(f"{desk}:{delivery_id}")


def bounded(text: str, length: int = ID_LENGTH) -> str:
    if len(text) <= length:
        return text
    prefix = text.split(":", 1)[0]
    return f"{prefix}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def text_or_none(value) -> str | None:
    """A desk's value as text: None, empty strings and unfilled placeholders (`{{…}}`) are absent."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return None if not text or (text.startswith("{{") and text.endswith("}}")) else text


def unix_time(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc) if value not in (None, "") else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def iso_time(value) -> datetime | None:
    text = text_or_none(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def split_tags(value) -> tuple[str, ...]:
    """Tags as a list, or as the comma/space separated text a placeholder gives."""
    if isinstance(value, (list, tuple)):
        items = [text_or_none(v.get("name") if isinstance(v, dict) else v) for v in value]
    else:
        text = text_or_none(value) or ""
        items = [part.strip() for part in text.replace(",", " ").split()] if text else []
    return tuple(dict.fromkeys(item.lower() for item in items if item))


def priority_of(value) -> str | None:
    """A desk's priority as low/normal/high/urgent ("2 normal", "Medium", 3, "URGENT" …)."""
    text = (text_or_none(value) or "").lower()
    for word, level in (("urgent", "urgent"), ("high", "high"), ("medium", "normal"), ("normal", "normal"),
                        ("low", "low")):
        if word in text:
            return level
    return {"1": "low", "2": "normal", "3": "high", "4": "urgent"}.get(text)


def signals(tags: Iterable[str], priority: str | None, rules: MappingRules) -> list[str]:
    """Tags (and `priority:<level>`) through `connectors.tag_signals`; a high or urgent priority is a signal too."""
    keys = [*tags, *([f"priority:{priority}"] if priority else [])]
    found = [rules.tag_signals[key] for key in keys if key in rules.tag_signals]
    if priority in ("high", "urgent"):
        found.append(f"priority_{priority}")
    return list(dict.fromkeys(found))


def rating_sentiment(rating, *, worst: float, best: float) -> float | None:
    """A satisfaction rating on a worst..best scale as a sentiment in −1..1 (the scale's middle is 0)."""
    try:
        value = float(rating)
    except (TypeError, ValueError):
        return None
    if not worst <= value <= best:
        return None
    return round(2 * (value - worst) / (best - worst) - 1, 2)


def truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in TRUE_WORDS) or value == 1


@lru_cache(maxsize=1)
def _zones_by_city() -> dict[str, str]:
    return {name.rsplit("/", 1)[-1].replace("_", " ").lower(): name for name in sorted(available_timezones())
            if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/"))}


def iana_zone(name: str | None) -> str | None:
    """An IANA name as is; a Rails name (Zendesk's and Freshdesk's `time_zone`) converted; anything else None."""
    text = text_or_none(name)
    if not text:
        return None
    try:
        ZoneInfo(text)
        return text
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return RAILS_ZONES.get(text) or _zones_by_city().get(text.lower())


def timezone_for(contact: Contact, rules: MappingRules, desk: str) -> tuple[str, list[str]]:
    """The customer's zone from the desk (its own field, then the `connectors.timezone_attribute` attribute), or
    `connectors.default_timezone` with the reason."""
    for candidate in (contact.timezone, contact.attributes.get(rules.timezone_attribute)):
        zone = iana_zone(candidate if isinstance(candidate, str) else None)
        if zone:
            return zone, []
    given = text_or_none(contact.timezone) or text_or_none(contact.attributes.get(rules.timezone_attribute))
    why = f"{desk} gave time zone {given!r}, which is not a known zone" if given else f"{desk} has no time zone"
    return rules.default_timezone, [f"{why}: connectors.default_timezone {rules.default_timezone} used"]


def usable_phone(raw: str | None) -> tuple[str | None, list[str]]:
    """E.164, or nothing with a note: a desk's local number (no country code) cannot be texted safely."""
    text = text_or_none(raw)
    if not text:
        return None, []
    candidate = "+" + text[2:].lstrip() if text.startswith("00") else text
    try:
        parsed = phonenumbers.parse(candidate, None)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), []
    except phonenumbers.NumberParseException:
        pass
    return None, ["the desk's phone number has no country code (not E.164): not used"]


def usable_email(raw: str | None) -> tuple[str | None, list[str]]:
    text = text_or_none(raw)
    if not text:
        return None, []
    try:
        validate.Email()(text)
    except ValidationError:
        return None, ["the desk's email address is not valid: not used"]
    return (text, []) if len(text) <= 320 else (None, ["the desk's email address is too long: not used"])


def consent_for(channel: str, contact: Contact, rules: MappingRules) -> dict:
    """Email: the customer wrote to support. SMS and WhatsApp: only on that channel, or when the desk marks it."""
    marked = truthy(contact.attributes.get(rules.sms_consent_attribute))
    return {"email": True, "sms": marked or channel == "sms", "whatsapp": marked or channel == "whatsapp"}


def customer_block(closing: Closing, rules: MappingRules) -> tuple[dict, list[str]]:
    contact = closing.contact
    zone, zone_notes = timezone_for(contact, rules, closing.desk)
    phone, phone_notes = usable_phone(contact.phone)
    email, email_notes = usable_email(contact.email)
    customer = {"id": bounded(f"{closing.desk}:{contact.id}"), "timezone": zone,
                "consent": consent_for(closing.channel, contact, rules)}
    for key, value in (("name", (text_or_none(contact.name) or "")[:NAME_LENGTH]), ("phone", phone),
                       ("email", email), ("locale", (text_or_none(contact.locale) or "")[:35])):
        if value:
            customer[key] = value
    return customer, [*zone_notes, *phone_notes, *email_notes]


def closed_event(closing: Closing, rules: MappingRules) -> dict:
    """SPEC §3 `interaction.closed` for a desk's close, with `origin` naming the desk (the reopen goes back there)."""
    customer, notes = customer_block(closing, rules)
    ended = closing.occurred_at.isoformat()
    interaction = {
        "id": bounded(f"{closing.desk}:{closing.native_id}:{closing.delivery_id}"),
        "case_id": bounded(f"{closing.desk}:{closing.native_id}"),
        "channel": "chat" if closing.channel == "whatsapp" else closing.channel,
        "ended_at": ended, "resolution": "resolved",
        "signals": signals(closing.tags, closing.priority, rules),
        "repeat_contact_count": max(0, min(int(closing.repeat_contacts or 0), 10_000))}
    if closing.sentiment is not None:
        interaction["customer_sentiment"] = closing.sentiment
    if cause := (text_or_none(closing.root_cause) or "")[:200] or root_cause_from_tags(closing.tags, rules):
        interaction["root_cause"] = cause
    if closing.started_at and closing.started_at <= closing.occurred_at:
        interaction["started_at"] = closing.started_at.isoformat()
    event = {"event_id": event_id(closing.desk, closing.delivery_id), "type": "interaction.closed",
             "occurred_at": ended, "interaction": interaction, "customer": customer,
             "origin": {"desk": closing.desk, "ref": closing.native_id, "notes": [*closing.notes, *notes]}}
    if closing.agent_id:
        event["agent"] = {"id": bounded(f"{closing.desk}:{closing.agent_id}"),
                          **({"name": closing.agent_name[:NAME_LENGTH]} if closing.agent_name else {}),
                          **({"team": closing.team[:ID_LENGTH]} if closing.team else {})}
    return event


def contacted_event(*, desk: str, delivery_id: str, occurred_at: datetime, customer_id: str,
                    native_id: str | None) -> dict:
    """The customer came back by themselves (wrote again, reopened): pending check-ins are moot."""
    event = {"event_id": event_id(desk, delivery_id), "type": "customer.contacted",
             "occurred_at": occurred_at.isoformat(), "customer": {"id": bounded(f"{desk}:{customer_id}")}}
    if native_id:
        event["case"] = {"id": bounded(f"{desk}:{native_id}")}
    return event


def updated_event(*, desk: str, delivery_id: str, occurred_at: datetime, native_id: str,
                  status: str | None = None) -> dict:
    """An agent touched the case (replied, reopened it): a pending check-in is cancelled or postponed."""
    case = {"id": bounded(f"{desk}:{native_id}"), **({"status": status} if status else {})}
    return {"event_id": event_id(desk, delivery_id), "type": "case.updated",
            "occurred_at": occurred_at.isoformat(), "case": case}
