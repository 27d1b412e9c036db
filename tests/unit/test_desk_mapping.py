"""The mapping every desk shares (intake/connectors/mapping.py), pure: time zones (IANA, Rails names, fallback with
the reason), phone numbers a desk keeps in local format, consent by channel or attribute, tags and priority to
signals, ratings to sentiment, ids that fit their columns."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from intake.connectors.mapping import (
    Closing, Contact, MappingRules, bounded, closed_event, consent_for, iana_zone, priority_of, rating_sentiment,
    signals, split_tags, timezone_for, usable_phone,
)

RULES = MappingRules(default_timezone="Europe/Dublin", tag_signals={"abusive": "abusive_language",
                                                                     "priority:urgent": "needs_a_lead"})
AT = datetime(2026, 11, 25, 14, 2, tzinfo=timezone.utc)


@pytest.mark.parametrize("given,zone", [("Europe/London", "Europe/London"), ("Eastern Time (US & Canada)",
                                        "America/New_York"), ("Buenos Aires", "America/Argentina/Buenos_Aires"),
                                        ("Osaka", "Asia/Tokyo"), ("Berlin", "Europe/Berlin"), ("Atlantis", None),
                                        ("", None), ("{{ticket.requester.time_zone}}", None)])
def test_desk_time_zones_become_iana_names(given, zone):
    assert iana_zone(given) in ((zone,) if zone != "America/Argentina/Buenos_Aires"
                                else ("America/Argentina/Buenos_Aires", "America/Buenos_Aires"))


def test_a_missing_or_unknown_time_zone_falls_back_with_the_reason():
    assert timezone_for(Contact(id="1", timezone="Asia/Tokyo"), RULES, "zendesk") == ("Asia/Tokyo", [])
    assert timezone_for(Contact(id="1", attributes={"timezone": "America/Chicago"}), RULES, "chatwoot") == \
        ("America/Chicago", [])
    zone, [note] = timezone_for(Contact(id="1"), RULES, "zammad")
    assert zone == "Europe/Dublin" and "zammad has no time zone" in note and "Europe/Dublin" in note
    zone, [note] = timezone_for(Contact(id="1", timezone="Atlantis"), RULES, "freshdesk")
    assert zone == "Europe/Dublin" and "'Atlantis'" in note


@pytest.mark.parametrize("raw,e164", [("+44 7700 900123", "+447700900123"), ("0061 2 1234 7777", "+61212347777"),
                                      ("07700 900123", None), ("", None), ("call me", None)])
def test_phone_numbers_without_a_country_code_are_left_out_with_a_note(raw, e164):
    phone, notes = usable_phone(raw)
    assert phone == e164 and bool(notes) == (e164 is None and bool(raw))


def test_sms_and_whatsapp_need_that_channel_or_the_desks_consent_email_does_not():
    plain = Contact(id="1")
    assert consent_for("chat", plain, RULES) == {"email": True, "sms": False, "whatsapp": False}
    assert consent_for("sms", plain, RULES)["sms"] and not consent_for("sms", plain, RULES)["whatsapp"]
    assert consent_for("whatsapp", plain, RULES)["whatsapp"] and not consent_for("whatsapp", plain, RULES)["sms"]
    for marked in (True, "yes", "true", 1):
        assert consent_for("email", Contact(id="1", attributes={"sms_consent": marked}), RULES)["sms"]
    assert not consent_for("email", Contact(id="1", attributes={"sms_consent": "no"}), RULES)["sms"]


def test_tags_and_priority_become_signals_through_the_settings():
    assert split_tags("billing, Abusive  vip") == ("billing", "abusive", "vip")
    assert split_tags([{"name": "Abusive"}, "x"]) == ("abusive", "x")
    assert signals(("abusive", "vip"), "urgent", RULES) == ["abusive_language", "needs_a_lead", "priority_urgent"]
    assert signals((), "low", RULES) == []
    assert [priority_of(p) for p in ("3 high", "Medium", "URGENT", 4, None, "whatever")] == \
        ["high", "normal", "urgent", "urgent", None, None]


def test_ratings_become_a_sentiment_and_nonsense_none():
    assert [rating_sentiment(r, worst=1, best=5) for r in (1, 3, 5, "2")] == [-1.0, 0.0, 1.0, -0.5]
    assert rating_sentiment(None, worst=1, best=5) is None and rating_sentiment(9, worst=1, best=5) is None


def test_a_close_maps_to_our_event_with_its_origin_and_ids_that_fit():
    closing = Closing(desk="zendesk", delivery_id="x" * 200, native_id="5158", occurred_at=AT, channel="whatsapp",
                      contact=Contact(id="77", name="Sam", email="sam@example.com", phone="07700 900123"),
                      agent_id="9", agent_name="Maria", team="billing", tags=("abusive",), repeat_contacts=3)
    event = closed_event(closing, RULES)
    assert len(event["event_id"]) <= 128 and len(event["interaction"]["id"]) <= 128
    assert event["interaction"]["case_id"] == "zendesk:5158" and event["interaction"]["channel"] == "chat"
    assert event["interaction"]["signals"] == ["abusive_language"] and event["interaction"]["repeat_contact_count"] == 3
    assert event["customer"]["id"] == "zendesk:77" and "phone" not in event["customer"]
    assert event["customer"]["consent"] == {"email": True, "sms": False, "whatsapp": True}
    assert event["agent"] == {"id": "zendesk:9", "name": "Maria", "team": "billing"}
    origin = event["origin"]
    assert (origin["desk"], origin["ref"]) == ("zendesk", "5158")
    assert any("country code" in note for note in origin["notes"]) and any("no time zone" in n for n in origin["notes"])
    assert bounded("a:" + "b" * 10) == "a:" + "b" * 10 and bounded("a:" + "b" * 300).startswith("a:")
