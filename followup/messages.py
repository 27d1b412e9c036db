"""Check-in wording from per-locale templates (config/templates/<locale>.toml), falling back to `en`."""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from followup.channels import smstext

TEMPLATES = Path(__file__).resolve().parent.parent / "config" / "templates"


@dataclass(frozen=True)
class CheckinText:
    body: str
    subject: str | None = None


@functools.lru_cache(maxsize=64)
def templates_for(locale: str | None) -> dict[str, str]:
    """en-GB → en-GB.toml, then en.toml; a missing key falls back to en."""
    base = _read("en")
    for candidate in _candidates(locale):
        found = _read(candidate)
        if found:
            return {**base, **found}
    return base


def _candidates(locale: str | None) -> list[str]:
    if not locale:
        return []
    norm = locale.replace("_", "-")
    return [norm, norm.split("-")[0].lower()]


def _read(name: str) -> dict[str, str]:
    path = TEMPLATES / f"{name}.toml"
    if not path.is_file() or not name.replace("-", "").isalnum():
        return {}
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def first_name(name: str | None, default: str) -> str:
    """smstext's first-name rule, with a fallback when the CRM sent no name."""
    return smstext.first_name(name or "") or default


def humanise_issue(category: str | None) -> str:
    return (category or "your request").replace("_", " ").replace("-", " ")


def render_checkin(*, channel: str, locale: str | None, customer_name: str | None, agent_name: str | None,
                   company: str, category: str | None, ended_at: datetime, due_at: datetime, tz: str) -> CheckinText:
    t = templates_for(locale)
    zone = ZoneInfo(tz)
    same_day = ended_at.astimezone(zone).date() == due_at.astimezone(zone).date()
    fields = {"customer_first_name": first_name(customer_name, "there"),
              "agent_first_name": first_name(agent_name, "the support team"), "company": company,
              "issue": humanise_issue(category), "when": t["today"] if same_day else t["yesterday"]}
    if channel == "sms":
        return CheckinText(body=fit_sms(t["sms"], fields))
    return CheckinText(body=t["email_body"].format(**fields), subject=t["email_subject"].format(**fields))


def fit_sms(template: str, fields: dict[str, str]) -> str:
    """SMS conventions (GSM-7 where possible, at most 2 segments) are kept by followup.channels.smstext."""
    return smstext.render_sms(template, fields, max_segments=2)


def canned(key: str, *, locale: str | None, agent_name: str | None, company: str) -> str:
    """Short acknowledgements and help text for inbound messages."""
    return templates_for(locale)[key].format(agent_first_name=first_name(agent_name, "a colleague"), company=company)


def acknowledgement(action: str, *, routed_agent_id: str | None, case_agent_id: str | None, locale: str | None,
                    agent_name: str | None, company: str) -> str | None:
    """The answer to an SMS reply, saying truthfully what happened (None when nothing is worth saying).

    The agent is named only when the reopened case went back to that same agent; otherwise it is with the team.
    """
    if action.startswith("loop closed"):
        key = "ack_resolved"
    elif action.startswith("reopened"):
        same_agent = bool(routed_agent_id) and routed_agent_id == case_agent_id and bool(agent_name)
        key = "ack_reopen_agent" if same_agent else "ack_reopen_team"
    elif action.startswith("added to the reopened case"):
        key = "ack_already_open"
    else:
        return None
    return canned(key, locale=locale, agent_name=agent_name, company=company)
