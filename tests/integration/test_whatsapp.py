"""WhatsApp check-ins with the real `twilio` client against a local fake that speaks the Messages and Content APIs:
the template outside the 24-hour window, free text inside it, 63016 falling back to the template once, one-tap
answers, free-text replies, STOP, ProfileName, `read`, forged signatures, and `whatsapp templates sync`."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from followup.models import ChannelContact, CheckIn, OptOut, Reply
from tests.support.dispatching import dispatch, due_now, stored_checkin
from tests.support.factories import interaction_event
from tests.support.fakes import twilio_error
from tests.support.problems import assert_problem, row_counts

CUSTOMER = "whatsapp:+447700900123"
SENDER = "whatsapp:+15005550006"
ON_WHATSAPP = {"interaction.channel": "whatsapp", "customer.consent": {"sms": True, "email": True, "whatsapp": True}}


def whatsapp(twilio_post, body="", sid="SMin1", sender=CUSTOMER, **extra):
    form = {"From": sender, "To": SENDER, "Body": body, "MessageSid": sid, "ProfileName": "Sam C",
            "WaId": "447700900123", **extra}
    return twilio_post("/webhooks/twilio/whatsapp", form)


@pytest.fixture
def scheduled(fake_whatsapp, post_event, rt, clock):
    """A WhatsApp check-in for a conversation that was on WhatsApp, made due now."""
    body = post_event(interaction_event(**ON_WHATSAPP)).get_json()
    assert body["checkin"]["channel"] == "whatsapp", body
    due_now(rt, clock, body["checkin"]["id"])
    return body["checkin"]["id"]


def sent(fake, n=-1) -> dict:
    return fake.accepted[n]


def test_outside_the_window_the_check_in_is_the_approved_template(scheduled, fake_whatsapp, rt, clock):
    assert dispatch(rt, clock).sent == 1
    form = sent(fake_whatsapp)
    assert form["To"] == CUSTOMER and form["From"] == SENDER and "Body" not in form
    assert form["ContentSid"] == fake_whatsapp.content_sid("en")
    assert json.loads(form["ContentVariables"]) == {"1": "Sam", "2": "Maria", "3": "Acme", "4": "Earlier today",
                                                    "5": "double charge"}
    assert form["StatusCallback"] == f"https://aftercare.example.com/webhooks/twilio/status?checkin={scheduled}"
    assert sent(fake_whatsapp)["body"].startswith("Hi Sam, this is Maria from Acme. Earlier today you had trouble")
    row = stored_checkin(rt, scheduled)
    assert row.state == "sent" and row.provider_message_id == form["sid"] and row.address == CUSTOMER


def test_a_messaging_service_instead_of_from(fake_whatsapp, overrides, post_event, clock):
    from aftercare.app import create_app

    overrides["twilio"].update(whatsapp_from="", whatsapp_messaging_service_sid="MGwhatsapp")
    rt2 = create_app(overrides).extensions["aftercare"]
    checkin_id = post_event(interaction_event(**ON_WHATSAPP)).get_json()["checkin"]["id"]
    due_now(rt2, clock, checkin_id)
    assert dispatch(rt2, clock).sent == 1
    assert sent(fake_whatsapp)["MessagingServiceSid"] == "MGwhatsapp" and "From" not in sent(fake_whatsapp)


def test_a_locale_without_its_own_template_uses_its_language_then_english(fake_whatsapp, post_event, rt, clock):
    spanish = post_event(interaction_event(**ON_WHATSAPP, **{"customer.locale": "es-MX"})).get_json()["checkin"]["id"]
    italian = post_event(interaction_event(**ON_WHATSAPP, **{"customer.locale": "it", "customer.id": "cus_it",
                                                             "interaction.case_id": "case_it",
                                                             "customer.phone": "+447700900456"})
                         ).get_json()["checkin"]["id"]
    due_now(rt, clock, spanish, italian)
    assert dispatch(rt, clock).sent == 2
    by_to = {m["To"]: m for m in fake_whatsapp.accepted}
    assert by_to[CUSTOMER]["ContentSid"] == fake_whatsapp.content_sid("es")
    assert by_to["whatsapp:+447700900456"]["ContentSid"] == fake_whatsapp.content_sid("en")


def test_inside_the_window_the_check_in_is_free_text(scheduled, fake_whatsapp, rt, clock, twilio_post):
    clock.advance(hours=-2)
    whatsapp(twilio_post, "hi, quick question about my bill", sid="SMearlier")
    clock.advance(hours=2)
    assert dispatch(rt, clock).sent == 1
    form = sent(fake_whatsapp)
    assert "ContentSid" not in form and form["Body"] == stored_checkin(rt, scheduled).body
    assert form["Body"].startswith("Hi Sam, this is Maria from Acme") and "Reply YES" in form["Body"]


def test_the_window_closes_after_24_hours(scheduled, fake_whatsapp, rt, clock, twilio_post):
    clock.advance(hours=-24, seconds=-1)
    whatsapp(twilio_post, "hello", sid="SMold")
    clock.advance(hours=24, seconds=1)
    dispatch(rt, clock)
    assert "ContentSid" in sent(fake_whatsapp) and "Body" not in sent(fake_whatsapp)


def test_63016_on_free_text_falls_back_to_the_template_once(scheduled, fake_whatsapp, rt, clock, twilio_post):
    whatsapp(twilio_post, "hello", sid="SMrecent")
    fake_whatsapp.decide = lambda form: twilio_error(400, 63016, "outside the window") if "Body" in form else None
    assert dispatch(rt, clock).sent == 1
    kinds = [("Body" in r.form, "ContentSid" in r.form) for r in fake_whatsapp.requests]
    assert kinds == [(True, False), (False, True)]
    assert stored_checkin(rt, scheduled).provider_message_id == sent(fake_whatsapp)["sid"]


def test_63016_is_not_retried_blindly(scheduled, fake_whatsapp, rt, clock, twilio_post):
    """The template refused too: the check-in fails with the reason; nothing more is sent, later or now."""
    whatsapp(twilio_post, "hello", sid="SMrecent")
    fake_whatsapp.decide = lambda form: twilio_error(400, 63016, "outside the allowed window")
    assert dispatch(rt, clock).failed == 1
    clock.advance(hours=2)
    dispatch(rt, clock)
    assert len(fake_whatsapp.requests) == 2
    row = stored_checkin(rt, scheduled)
    assert row.state == "failed" and "63016" in row.state_reason


def test_63016_reported_by_the_status_callback_resends_the_template_once(scheduled, fake_whatsapp, rt, clock,
                                                                         twilio_post):
    """WhatsApp usually reports 63016 after Twilio accepted the message: the check-in goes again as the template."""
    whatsapp(twilio_post, "hello", sid="SMrecent")
    dispatch(rt, clock)
    free_text = sent(fake_whatsapp)["sid"]
    callback = f"/webhooks/twilio/status?checkin={scheduled}"
    twilio_post(callback, {"MessageSid": free_text, "MessageStatus": "failed", "ErrorCode": "63016"})
    row = stored_checkin(rt, scheduled)
    assert row.state == "scheduled" and row.needs_template and "template instead" in row.state_reason
    twilio_post(callback, {"MessageSid": free_text, "MessageStatus": "undelivered", "ErrorCode": "63016"})
    assert dispatch(rt, clock).sent == 1
    assert "ContentSid" in sent(fake_whatsapp) and "Body" not in sent(fake_whatsapp)
    twilio_post(callback, {"MessageSid": free_text, "MessageStatus": "sent"})  # late news of the free text
    template = sent(fake_whatsapp)["sid"]
    assert stored_checkin(rt, scheduled).provider_message_id == template
    twilio_post(callback, {"MessageSid": template, "MessageStatus": "failed", "ErrorCode": "63016"})
    dispatch(rt, clock)
    assert len(fake_whatsapp.accepted) == 2 and stored_checkin(rt, scheduled).state == "failed"


def test_no_template_for_the_locale_outside_the_window_fails_with_the_reason(fake_twilio, overrides, post_event, clock):
    from aftercare.app import create_app

    overrides["twilio"].update(whatsapp_from=SENDER)
    overrides["followup"]["channel_whatsapp"] = "twilio"
    rt2 = create_app(overrides).extensions["aftercare"]
    rt2.clock = clock
    checkin_id = post_event(interaction_event(**ON_WHATSAPP)).get_json()["checkin"]["id"]
    due_now(rt2, clock, checkin_id)
    assert dispatch(rt2, clock).failed == 1 and fake_twilio.requests == []
    assert "no approved template" in stored_checkin(rt2, checkin_id).state_reason


@pytest.mark.parametrize("templates", [{"en": "HX" + "0" * 32}, {"en": {"checkin": "not-a-sid"}}, ["HX"]])
def test_misconfigured_templates_stop_the_start(fake_whatsapp, overrides, templates):
    from aftercare.app import create_app

    overrides["whatsapp"] = {"templates": templates}
    with pytest.raises(ValueError, match="templates"):
        create_app(overrides)


def _sent_checkin(rt, clock, checkin_id, fake) -> str:
    dispatch(rt, clock)
    return sent(fake)["sid"]


@pytest.mark.parametrize("payload,text,state", [("resolved", "Yes, all sorted", "closed"),
                                                ("reopen", "No, still need help", "reopened")])
def test_a_tapped_button_is_the_answer(scheduled, fake_whatsapp, rt, clock, twilio_post, client, read_headers,
                                       payload, text, state):
    template_sid = _sent_checkin(rt, clock, scheduled, fake_whatsapp)
    resp = whatsapp(twilio_post, text, sid="SMtap", ButtonPayload=payload, ButtonText=text,
                    OriginalRepliedMessageSid=template_sid)
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    case = client.get("/api/v1/cases/case_77", headers=read_headers).get_json()
    assert case["state"] == state
    reply = case["replies"][0]
    assert (reply["intent"], reply["confidence"], reply["reasons"]) == (payload, 1.0, ["button"])
    assert stored_checkin(rt, scheduled).state == "replied"


def test_a_free_text_reply_is_read(scheduled, fake_whatsapp, rt, clock, twilio_post, client, read_headers):
    _sent_checkin(rt, clock, scheduled, fake_whatsapp)
    answer = whatsapp(twilio_post, "thanks, but it is still charging me twice", sid="SMfree").get_data(as_text=True)
    case = client.get("/api/v1/cases/case_77", headers=read_headers).get_json()
    assert case["state"] == "reopened" and case["replies"][0]["reasons"] != ["button"]
    assert case["replies"][0]["channel"] == "whatsapp" and "<Message>" in answer


def test_a_button_from_something_else_is_read_as_text(scheduled, fake_whatsapp, rt, clock, twilio_post, client,
                                                      read_headers):
    _sent_checkin(rt, clock, scheduled, fake_whatsapp)
    whatsapp(twilio_post, "still broken", sid="SModd", ButtonPayload="order_status", ButtonText="still broken")
    reply = client.get("/api/v1/cases/case_77", headers=read_headers).get_json()["replies"][0]
    assert reply["intent"] == "reopen" and reply["reasons"] != ["button"]


@pytest.mark.parametrize("text", ["STOP", "stop please", "BAJA", "ARRÊT", "STOPP", "PARAR"])
def test_stop_opts_the_whatsapp_address_out_and_only_it(scheduled, fake_whatsapp, rt, clock, twilio_post, post_event,
                                                        text):
    _sent_checkin(rt, clock, scheduled, fake_whatsapp)
    whatsapp(twilio_post, text, sid="SMstop")
    with rt.db.session() as session:
        assert session.get(OptOut, CUSTOMER).channel == "whatsapp"
        assert session.get(OptOut, "+447700900123") is None  # the number's texts are another matter
    clock.advance(days=2)
    body = post_event(interaction_event(**ON_WHATSAPP, **{"interaction.case_id": "case_2"})).get_json()
    assert body["checkin"]["channel"] == "sms" and "whatsapp address opted out" in " ".join(body["schedule_reasons"])


def test_cancel_is_no_opt_out_on_whatsapp(scheduled, fake_whatsapp, rt, clock, twilio_post):
    """CANCEL, END, QUIT and REVOKE are carrier SMS keywords; on WhatsApp, "cancel" is about something else."""
    _sent_checkin(rt, clock, scheduled, fake_whatsapp)
    whatsapp(twilio_post, "cancel", sid="SMcancel")
    with rt.db.session() as session:
        assert session.get(OptOut, CUSTOMER) is None


def test_profile_name_and_window_are_kept_per_address(fake_whatsapp, rt, clock, twilio_post):
    whatsapp(twilio_post, "hello?", sid="SMa")
    clock.advance(minutes=5)
    whatsapp(twilio_post, "anyone?", sid="SMb", ProfileName="Sam Carter")
    with rt.db.session() as session:
        contact = session.get(ChannelContact, CUSTOMER)
        assert (contact.profile_name, contact.provider_user_id, contact.last_inbound_at) == \
               ("Sam Carter", "447700900123", clock.now)
        assert [r.text for r in session.scalars(select(Reply).order_by(Reply.received_at))] == ["hello?", "anyone?"]


def test_status_read_marks_the_check_in_read(scheduled, fake_whatsapp, rt, clock, twilio_post, client, read_headers):
    sid = _sent_checkin(rt, clock, scheduled, fake_whatsapp)
    clock.advance(minutes=3)
    assert twilio_post(f"/webhooks/twilio/status?checkin={scheduled}",
                       {"MessageSid": sid, "MessageStatus": "read"}).status_code == 204
    row = stored_checkin(rt, scheduled)
    assert row.state == "delivered" and row.read_at == clock.now and row.delivered_at == clock.now
    shown = client.get(f"/api/v1/checkins/{scheduled}", headers=read_headers).get_json()
    assert shown["read_at"] == clock.now.isoformat() and shown["channel"] == "whatsapp"


@pytest.mark.parametrize("signature", ["", "forged=="])
def test_a_forged_or_missing_signature_is_403_and_changes_nothing(scheduled, fake_whatsapp, rt, clock, twilio_post,
                                                                  signature):
    _sent_checkin(rt, clock, scheduled, fake_whatsapp)
    before = row_counts(rt)
    resp = twilio_post("/webhooks/twilio/whatsapp", {"From": CUSTOMER, "Body": "STOP", "MessageSid": "SMx",
                                                     "ButtonPayload": "resolved"}, signature=signature)
    assert_problem(resp, 403)
    assert row_counts(rt) == before and stored_checkin(rt, scheduled).state == "sent"


@pytest.mark.parametrize("form,field", [
    ({"Body": "hi"}, "From"), ({"From": "", "Body": "hi"}, "From"),
    ({"From": "whatsapp:+44" + "7" * 320, "Body": "hi"}, "From"),
    ({"From": CUSTOMER, "Body": "STOP", "MessageSid": "SM" + "0" * 199}, "MessageSid")])
def test_bad_senders_and_ids_are_422_and_change_nothing(fake_whatsapp, rt, twilio_post, form, field):
    before = row_counts(rt)
    assert_problem(twilio_post("/webhooks/twilio/whatsapp", form), 422, field)
    assert row_counts(rt) == before


@pytest.mark.parametrize("path", ["/webhooks/twilio/whatsapp", "/webhooks/twilio/sms"])
def test_either_inbound_url_takes_either_channel_by_its_sender(fake_whatsapp, rt, twilio_post, path):
    """A Messaging Service holding SMS and WhatsApp senders posts both to one URL; Twilio never posts a message twice."""
    twilio_post(path, {"From": "+447700900123", "Body": "STOP", "MessageSid": "SMtext"})
    twilio_post(path, {"From": CUSTOMER, "Body": "hello", "MessageSid": "SMwa", "ProfileName": "Sam"})
    with rt.db.session() as session:
        assert session.get(OptOut, "+447700900123").channel == "sms"
        assert {r.provider_message_id: r.channel for r in session.scalars(select(Reply))} == {"SMtext": "sms",
                                                                                             "SMwa": "whatsapp"}
        assert session.get(ChannelContact, CUSTOMER).profile_name == "Sam"


def test_an_odd_profile_name_or_wa_id_is_not_a_reason_to_lose_the_message(fake_whatsapp, rt, twilio_post):
    whatsapp(twilio_post, "hello", sid="SModd", ProfileName="S" * 500, WaId="9" * 100)
    with rt.db.session() as session:
        contact = session.get(ChannelContact, CUSTOMER)
        assert len(contact.profile_name) == 200 and contact.provider_user_id is None
        assert session.scalars(select(Reply.text)).all() == ["hello"]


def test_twilio_retry_of_the_same_message_changes_nothing(scheduled, fake_whatsapp, rt, clock, twilio_post):
    _sent_checkin(rt, clock, scheduled, fake_whatsapp)
    whatsapp(twilio_post, "still broken", sid="SMdup")
    before = row_counts(rt)
    clock.advance(hours=1)
    whatsapp(twilio_post, "still broken", sid="SMdup")
    assert row_counts(rt) == before
    with rt.db.session() as session:
        assert session.get(ChannelContact, CUSTOMER).last_inbound_at == clock.now - timedelta(hours=1)


@pytest.fixture
def content_api(fake_twilio, overrides):
    """The Content API of the local fake (request before `app`)."""
    overrides["twilio"]["content_base_url"] = fake_twilio.base_url
    return fake_twilio


def test_templates_sync_creates_content_and_requests_approval(content_api, app):
    fake_twilio = content_api
    result = app.test_cli_runner().invoke(args=["whatsapp", "templates", "sync"])
    assert result.exit_code == 0, result.output
    created = [body for method, path, body in fake_twilio.content_requests if (method, path) == ("POST", "/v1/Content")]
    assert sorted(c["language"] for c in created) == ["de", "en", "es", "fr", "pt"]
    english = next(c for c in created if c["language"] == "en")
    quick_reply = english["types"]["twilio/quick-reply"]
    assert english["friendly_name"] == "aftercare_checkin_en"
    assert quick_reply["body"].startswith("Hi {{1}}, this is {{2}} from {{3}}. {{4}} you had trouble with {{5}}")
    assert [(a["id"], a["title"]) for a in quick_reply["actions"]] == [("resolved", "Yes, all sorted"),
                                                                      ("reopen", "No, still need help")]
    assert set(english["variables"]) == {"1", "2", "3", "4", "5"}
    approvals = [(path, body) for method, path, body in fake_twilio.content_requests
                 if method == "POST" and path.endswith("/ApprovalRequests/whatsapp")]
    assert len(approvals) == 5 and all(body["category"] == "UTILITY" for _, body in approvals)
    en_sid = fake_twilio.content_sid("en")
    assert f"en     aftercare_checkin_en     {en_sid}  created  approval: received" in result.output
    assert f'en = {{ checkin = "{en_sid}" }}' in result.output


def test_a_second_sync_creates_nothing_and_reports_the_approval(content_api, app):
    fake_twilio = content_api
    runner = app.test_cli_runner()
    runner.invoke(args=["whatsapp", "templates", "sync"])
    fake_twilio.approve(fake_twilio.content_sid("en"))
    fake_twilio.approve(fake_twilio.content_sid("de"), "rejected", "INVALID_FORMAT")
    fake_twilio.contents[fake_twilio.content_sid("fr")]["types"]["twilio/quick-reply"]["body"] = "Bonjour {{1}}"
    fake_twilio.content_requests.clear()
    result = runner.invoke(args=["whatsapp", "templates", "sync"])
    assert result.exit_code == 0, result.output
    assert [m for m, _, _ in fake_twilio.content_requests].count("POST") == 0
    lines = {line.split()[0]: line for line in result.output.splitlines() if "aftercare_checkin_" in line}
    assert "exists   approval: approved" in lines["en"] and "approval: rejected  (INVALID_FORMAT)" in lines["de"]
    assert "approval: received  (the wording in Twilio differs from config/templates" in lines["fr"]


def test_sync_of_an_unknown_locale_says_which_are_known(content_api, app):
    result = app.test_cli_runner().invoke(args=["whatsapp", "templates", "sync", "--locale", "xx"])
    assert result.exit_code == 2 and "no check-in template for xx; known: de, en, es, fr, pt" in result.output
    assert content_api.content_requests == []


def test_sync_without_credentials_says_so(app):
    result = app.test_cli_runner().invoke(args=["whatsapp", "templates", "sync"])
    assert result.exit_code == 1 and "twilio.account_sid and twilio.auth_token must be set" in result.output


def test_sync_when_twilio_cannot_be_reached_says_so(fake_twilio, overrides, app):
    overrides["twilio"]["content_base_url"] = "http://127.0.0.1:9"
    from aftercare.app import create_app

    result = create_app(overrides).test_cli_runner().invoke(args=["whatsapp", "templates", "sync"])
    assert result.exit_code == 1 and "Twilio's Content API" in result.output
