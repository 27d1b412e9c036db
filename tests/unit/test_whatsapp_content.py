"""WhatsApp decisions without a database or Twilio: the 24-hour window, which template, what the templates say (within
WhatsApp's limits), channel choice and consent, and which keywords opt a WhatsApp address out."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from followup.keywords import keyword_action
from followup.messages import render_checkin
from followup.policy import Contact, choose_channel
from followup.whatsapp_content import (
    MAX_BODY,
    MAX_BUTTON_TITLE,
    checkin_content,
    choose_template,
    content_variables,
    in_session,
    plan_delivery,
    template_locales,
    template_problems,
    template_text,
)

EN, ES = "HX" + "a" * 32, "HX" + "b" * 32
TEMPLATES = {"en": {"checkin": EN}, "es": {"checkin": ES}}
FIELDS = {"customer_first_name": "Sam", "agent_first_name": "Maria", "company": "Acme", "issue": "double charge",
          "when": "Yesterday"}


@pytest.mark.parametrize("age,open_", [(None, False), (timedelta(0), True), (timedelta(hours=23, minutes=59), True),
                                       (timedelta(hours=24), False), (timedelta(days=3), False),
                                       (timedelta(minutes=-5), False)])
def test_the_window_is_the_24_hours_after_the_customers_last_message(age, open_):
    assert in_session(age) is open_


def test_inside_the_window_free_text_outside_it_the_template():
    inside = plan_delivery(inbound_age=timedelta(hours=2), needs_template=False, templates=TEMPLATES, locale="en",
                           fields=FIELDS)
    outside = plan_delivery(inbound_age=None, needs_template=False, templates=TEMPLATES, locale="en", fields=FIELDS)
    assert inside.kind == "text"
    assert (outside.kind, outside.content_sid, outside.variables["1"]) == ("template", EN, "Sam")


def test_after_a_63016_only_the_template_goes_even_inside_the_window():
    plan = plan_delivery(inbound_age=timedelta(hours=2), needs_template=True, templates=TEMPLATES, locale="en",
                         fields=FIELDS)
    assert plan.kind == "template"


@pytest.mark.parametrize("locale,expected", [("es-MX", ("es", ES)), ("es", ("es", ES)), ("it", ("en", EN)),
                                             (None, ("en", EN)), ("en-GB", ("en", EN))])
def test_the_template_is_the_locales_then_its_languages_then_english(locale, expected):
    assert choose_template(TEMPLATES, locale) == expected


def test_without_any_template_outside_the_window_it_is_refused_with_the_reason():
    plan = plan_delivery(inbound_age=None, needs_template=False, templates={}, locale="fr", fields=FIELDS)
    assert plan.kind == "refused" and "fr or en" in plan.reason


@pytest.mark.parametrize("templates,problem", [
    ({}, None), (TEMPLATES, None), ({"en": EN}, "whatsapp.templates.en.checkin"),
    ({"en": {"checkin": "HX123"}}, "whatsapp.templates.en.checkin"), (["HX"], "a table of locales")])
def test_template_settings_are_checked(templates, problem):
    problems = template_problems(templates)
    assert (problem in " ".join(problems)) if problem else problems == []


def test_every_check_in_locale_has_a_template():
    assert template_locales() == ["de", "en", "es", "fr", "pt"]


@pytest.mark.parametrize("locale", ["de", "en", "es", "fr", "pt"])
def test_each_template_keeps_to_whatsapps_rules(locale):
    content = checkin_content(locale, "aftercare_checkin")
    assert re.fullmatch(r"[a-z0-9_]+", content.name)
    assert len(content.body) <= MAX_BODY
    assert not re.match(r"\s*\{\{", content.body) and not re.search(r"\}\}\W*$", content.body)
    numbers = re.findall(r"\{\{(\d+)\}\}", content.body)
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)] == sorted(content.variables, key=int)
    assert [button_id for button_id, _ in content.buttons] == ["resolved", "reopen"]
    assert all(0 < len(title) <= MAX_BUTTON_TITLE for _, title in content.buttons)


@pytest.mark.parametrize("locale", ["de", "en", "es", "fr", "pt"])
def test_the_variables_fill_the_template_as_the_customer_reads_it(locale):
    content = checkin_content(locale, "x")
    variables = content_variables(locale, FIELDS)
    filled = re.sub(r"\{\{(\d+)\}\}", lambda m: variables[m.group(1)], content.body)
    assert filled == template_text(locale, FIELDS) and "Sam" in filled and "double charge" in filled


def test_a_whatsapp_check_in_keeps_its_template_fields_on_one_line():
    text = render_checkin(channel="whatsapp", locale="en", customer_name="Sam\nCarter", agent_name="Maria  Lopez",
                          company="Acme\tLtd", category="double_charge",
                          ended_at=datetime(2026, 1, 1, 10, tzinfo=timezone.utc),
                          due_at=datetime(2026, 1, 2, 10, tzinfo=timezone.utc), tz="UTC")
    assert text.fields["company"] == "Acme Ltd" and text.fields["agent_first_name"] == "Maria"
    assert all("\n" not in value and "\t" not in value for value in text.fields.values())
    assert text.body.startswith("Hi Sam, this is Maria from Acme Ltd. Yesterday")


PHONE = "+447700900123"


def contact(**consent) -> Contact:
    return Contact("Europe/London", phone=PHONE, email="sam@example.com", **consent)


def test_whatsapp_needs_its_own_consent():
    channel, _, why = choose_channel(contact(consent_sms=True), "whatsapp")
    assert channel == "sms" and "not whatsapp, the one the customer used: no whatsapp consent" in why
    assert choose_channel(contact(), "whatsapp")[0] is None


def test_the_channel_the_customer_used_comes_first():
    everything = contact(consent_sms=True, consent_email=True, consent_whatsapp=True)
    assert choose_channel(everything, "whatsapp")[:2] == ("whatsapp", f"whatsapp:{PHONE}")
    assert choose_channel(everything, "chat")[0] == "sms"
    assert choose_channel(contact(consent_email=True, consent_whatsapp=True), "chat")[0] == "whatsapp"


def test_a_whatsapp_opt_out_leaves_the_numbers_texts_alone():
    both = Contact("Europe/London", phone=PHONE, consent_sms=True, consent_whatsapp=True,
                   opted_out=frozenset({f"whatsapp:{PHONE}"}))
    assert choose_channel(both, "whatsapp")[0] == "sms"


@pytest.mark.parametrize("text", ["STOP", "stop please", "unsubscribe", "BAJA", "ARRÊT", "STOPP", "PARAR", "sair"])
def test_stop_and_its_equivalents_opt_out_on_whatsapp(text):
    assert keyword_action(text, carrier=False) == "opt_out"


@pytest.mark.parametrize("text", ["cancel", "END", "quit", "revoke"])
def test_carrier_sms_keywords_are_no_opt_out_on_whatsapp(text):
    assert keyword_action(text, carrier=False) is None
    assert keyword_action(text) == "opt_out"
