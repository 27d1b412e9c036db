"""Issue 14: every message in every locale promises only what the system does, and asks a closed question."""
import re
import string
from datetime import datetime, timezone

import pytest

from followup.channels import smstext
from followup.messages import TEMPLATES, acknowledgement, render_checkin, templates_for
from followup.understanding import ReplyContext, classify_reply

LOCALES = sorted(p.stem for p in TEMPLATES.glob("*.toml"))
# Promises the system cannot keep: a human reads every reply (resolved replies close the loop automatically),
# a call back, a deadline, round-the-clock cover, an instant human answer.
FORBIDDEN = [
    r"a person reads every", r"every (?:answer|reply) is read by", r"we read every", r"personally read",
    r"una persona lee cada", r"leemos todas", r"une personne lit chaque", r"nous lisons chaque",
    r"eine person liest jede", r"wir lesen jede", r"uma pessoa lê cada", r"lemos todas",
    r"\bcall you\b", r"\bwe will call\b", r"te llamar", r"vous rappel", r"rufen sie an", r"ligaremos",
    r"within \d+", r"en \d+ horas", r"sous \d+", r"innerhalb von \d+", r"em \d+ horas",
    r"24/7", r"\bimmediately\b", r"de inmediato", r"imm[ée]diatement", r"sofort", r"imediatamente",
    r"\bi will pick it up\b", r"\bguarantee", r"garantiz", r"garanti", r"garantier", r"garant",
]
# the check-in comes from the agent; one ack names them
AGENT_KEYS = {"sms", "email_body", "whatsapp_template", "ack_reopen_agent"}
REQUIRED = {"sms", "email_subject", "email_body", "question", "help", "ack_resolved", "ack_reopen_agent",
            "ack_reopen_team", "ack_already_open", "yesterday", "today", "whatsapp_template",
            "whatsapp_button_resolved", "whatsapp_button_reopen"}
YES_WORD = {"en": "YES", "es": "SI", "fr": "OUI", "de": "JA", "pt": "SIM"}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_all_five_languages_have_templates():
    assert {"en", "es", "fr", "de", "pt"} <= set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_has_every_message(locale):
    own = set(templates_for(locale)) if locale == "en" else set(
        __import__("tomllib").loads((TEMPLATES / f"{locale}.toml").read_text(encoding="utf-8")))
    assert REQUIRED <= own, f"{locale} lacks {REQUIRED - own}"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_message_promises_what_the_system_does_not_do(locale):
    for key, text in templates_for(locale).items():
        for pattern in FORBIDDEN:
            assert not re.search(pattern, text, re.IGNORECASE), f"{locale}.{key} promises {pattern!r}: {text!r}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_agent_is_named_only_where_it_is_true(locale):
    for key, text in templates_for(locale).items():
        if "agent_first_name" in fields(text):
            assert key in AGENT_KEYS, f"{locale}.{key} names the agent"


@pytest.mark.parametrize("locale", LOCALES)
def test_check_ins_ask_a_closed_question_and_invite_free_text(locale):
    t = templates_for(locale)
    for key in ("sms", "email_body", "help"):
        assert YES_WORD[locale] in t[key], f"{locale}.{key} does not say how to answer YES"
    question = t["question"]
    assert question.strip("¿? ").lower() in t["sms"].lower()
    assert question.strip("¿? ").lower() in t["whatsapp_template"].lower()
    verdict = classify_reply(YES_WORD[locale], ReplyContext(locale=locale, question=question))
    assert verdict.intent == "resolved", f"{locale}: YES to {question!r} read as {verdict}"


@pytest.mark.parametrize("locale", LOCALES)
def test_check_in_sms_fits_two_segments_with_long_names(locale):
    text = render_checkin(channel="sms", locale=locale, customer_name="Maximiliana Example",
                          agent_name="Bartholomew Jones", company="Example Telecom Services",
                          category="double_charge_on_card", ended_at=datetime(2025, 1, 1, 10, tzinfo=timezone.utc),
                          due_at=datetime(2025, 1, 2, 14, tzinfo=timezone.utc), tz="UTC").body
    assert smstext.segments(text) <= 2
    assert YES_WORD[locale] in text, f"the closing question was cut: {text!r}"


@pytest.mark.parametrize("locale", LOCALES)
def test_acknowledgements_say_what_happened(locale):
    def ack(action, routed, case_agent="ag_1"):
        return acknowledgement(action, routed_agent_id=routed, case_agent_id=case_agent, locale=locale,
                               agent_name="Priya Shah", company="Acme")

    assert "Priya" in ack("reopened to agent ag_1 (preferred agent available)", "ag_1")
    assert "Priya" not in ack("reopened to agent ag_2 (ag_1 over load threshold)", "ag_2")
    assert "Priya" not in ack("reopened to team billing (no agent free)", None)
    assert "Priya" not in ack("loop closed: customer confirmed resolved", None)
    assert "Priya" not in ack("added to the reopened case: a person already has it", None)
    assert ack("acknowledged: nothing to do now", None) is None
    assert ack("unmatched: stored for a person to read", None) is None


def test_a_check_in_without_an_agent_name_names_the_team_whole():
    """The fallback "the support team" is not a person's name: it used to be cut to "this is the from Acme"."""
    text = render_checkin(channel="sms", locale="en", customer_name=None, agent_name=None, company="Acme",
                          category="double_charge", ended_at=datetime(2025, 1, 1, 10, tzinfo=timezone.utc),
                          due_at=datetime(2025, 1, 1, 14, tzinfo=timezone.utc), tz="UTC").body
    assert text.startswith("Hi there, this is the support team from Acme."), text


@pytest.mark.parametrize("locale, opening", [
    ("es", "Hola de nuevo, soy el equipo de soporte de Acme."),
    ("fr", "Bonjour à vous, ici l'équipe support de Acme."),
    ("de", "Hallo nochmal, hier ist das Support-Team von Acme."),
    ("pt", "Oi de novo, é a equipe de suporte da Acme."),
])
def test_a_check_in_without_names_falls_back_in_the_customers_language(locale, opening):
    """No English words ("there", "the support team") in a Spanish, French, German or Portuguese check-in."""
    text = render_checkin(channel="sms", locale=locale, customer_name=None, agent_name=None, company="Acme",
                          category="double_charge", ended_at=datetime(2025, 1, 1, 10, tzinfo=timezone.utc),
                          due_at=datetime(2025, 1, 1, 14, tzinfo=timezone.utc), tz="UTC").body
    assert text.startswith(opening), text
    assert "there" not in text and "support team" not in text
