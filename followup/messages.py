"""Check-in wording from per-locale templates (config/templates/<locale>.toml), falling back to `en`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from followup.channels import smstext
from followup.locales import TEMPLATES, templates_for  # noqa: F401 - TEMPLATES: where the wording lives


@dataclass(frozen=True)
class CheckinText:
    body: str
    subject: str | None = None
    fields: dict[str, str] | None = None  # WhatsApp: what an approved template is filled with outside the window


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
    fields = {"customer_first_name": first_name(customer_name, t["nobody_customer"]),
              "agent_first_name": first_name(agent_name, t["nobody_agent"]), "company": company,
              "issue": humanise_issue(category), "when": t["today"] if same_day else t["yesterday"]}
    if channel == "sms":
        return CheckinText(body=fit_sms(t["sms"], fields))
    if channel == "whatsapp":
        values = template_values(fields)
        return CheckinText(body=smstext.fill(t["sms"], values), fields=values)
    return CheckinText(body=t["email_body"].format(**fields), subject=t["email_subject"].format(**fields))


def render_fix_notice(*, channel: str, locale: str | None, customer_name: str | None, company: str,
                      category: str | None, note: str | None = None) -> CheckinText:
    """A known problem's fix notice (SPEC §12) from the company: the cause is fixed, is it sorted now?"""
    t = templates_for(locale)
    words = " ".join((note or "").split())
    own = words.replace("{", "(").replace("}", ")") + " " if words else ""  # the manager's words: no placeholders
    fields = {"customer_first_name": first_name(customer_name, t.get("nobody_customer", "there")),
              "company": company, "issue": humanise_issue(category)}
    if channel == "sms":
        return CheckinText(body=fit_sms(t["fix_sms"].replace("{note}", own), fields))
    body = t["fix_email_body"].format(**fields, note=own.strip())
    return CheckinText(body=body.replace(" \n", "\n"), subject=t["fix_email_subject"].format(**fields))


# WhatsApp refuses a template variable with a line break, a tab or four spaces in a row; a long issue is cut.
_BLANKS = re.compile(r"\s+")
MAX_VARIABLE = 60


def template_values(fields: dict[str, str]) -> dict[str, str]:
    """Check-in fields as a messaging template takes them: one line each, not too long."""
    return {key: smstext.clip(_BLANKS.sub(" ", str(value)).strip(), MAX_VARIABLE) for key, value in fields.items()}


def fit_sms(template: str, fields: dict[str, str]) -> str:
    """SMS conventions (GSM-7 where possible, at most 2 segments) are kept by followup.channels.smstext."""
    return smstext.render_sms(template, fields, max_segments=2, reduce_names=False)


def canned(key: str, *, locale: str | None, agent_name: str | None, company: str) -> str:
    """Short acknowledgements and help text for inbound messages."""
    t = templates_for(locale)
    return t[key].format(agent_first_name=first_name(agent_name, t["nobody_colleague"]), company=company)


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
