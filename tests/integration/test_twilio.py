"""Twilio SMS with the real `twilio` client against a local fake: sending, faults, inbound, status callbacks."""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import select

from followup.models import CheckIn, OptOut, Reply
from tests.support.dispatching import dispatch, due_now, stored_checkin as checkin
from tests.support.factories import interaction_event
from tests.support.fakes import twilio_error


@pytest.fixture
def scheduled(fake_twilio, post_event):
    """One SMS check-in made due now."""
    body = post_event(interaction_event()).get_json()
    return body["checkin"]["id"]


def test_send_uses_the_messages_api_with_status_callback(scheduled, fake_twilio, rt, clock):
    due_now(rt, clock, scheduled)
    assert dispatch(rt, clock).sent == 1
    request = fake_twilio.requests[0]
    form = request.form
    assert form["To"] == "+447700900123" and form["From"] == "+15005550006"
    assert form["StatusCallback"] == f"https://aftercare.example.com/webhooks/twilio/status?checkin={scheduled}"
    assert "Maria" in form["Body"] and "Lopez" not in form["Body"]
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"ACtest:twilio_test_token").decode()
    row = checkin(rt, scheduled)
    assert row.state == "sent" and row.provider_message_id.startswith("SM")


def test_messaging_service_sid_instead_of_from(fake_twilio, overrides, post_event, rt, clock):
    overrides["twilio"].update(from_number="", messaging_service_sid="MGtest")
    from aftercare.app import create_app

    app2 = create_app(overrides)
    app2.extensions["aftercare"].clock = clock
    rt2 = app2.extensions["aftercare"]
    checkin_id = post_event(interaction_event()).get_json()["checkin"]["id"]
    due_now(rt2, clock, checkin_id)
    dispatch(rt2, clock)
    form = fake_twilio.requests[0].form
    assert form["MessagingServiceSid"] == "MGtest" and "From" not in form


def test_429_honours_retry_after(scheduled, fake_twilio, rt, clock):
    fake_twilio.decide = lambda form: twilio_error(429, 20429, "Too Many Requests", {"Retry-After": "120"})
    due_now(rt, clock, scheduled)
    assert dispatch(rt, clock).retried == 1
    row = checkin(rt, scheduled)
    assert row.state == "scheduled" and row.due_at >= clock.now + timedelta(seconds=120)
    assert "429" in row.state_reason


def test_5xx_retries_with_backoff_then_fails_with_reason(scheduled, fake_twilio, rt, clock):
    fake_twilio.decide = lambda form: twilio_error(500, 20500, "Internal error")
    due_now(rt, clock, scheduled)
    delays = []
    for _ in range(3):
        dispatch(rt, clock, max_attempts=3)
        row = checkin(rt, scheduled)
        if row.state == "scheduled":
            delays.append((row.due_at - clock.now).total_seconds())
            clock.now = row.due_at
    assert row.state == "failed" and "server error (500)" in row.state_reason and "after 3 attempts" in row.state_reason
    assert len(delays) == 2 and 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20
    assert len(fake_twilio.requests) == 3


def test_21610_is_permanent_and_opts_out(scheduled, fake_twilio, rt, clock):
    fake_twilio.decide = lambda form: twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
    due_now(rt, clock, scheduled)
    assert dispatch(rt, clock).failed == 1
    assert len(fake_twilio.requests) == 1
    with rt.db.session() as session:
        assert session.get(OptOut, "+447700900123") is not None
        assert "21610" in session.get(CheckIn, scheduled).state_reason


def test_21211_invalid_number_not_retried(scheduled, fake_twilio, rt, clock):
    fake_twilio.decide = lambda form: twilio_error(400, 21211, "Invalid 'To' Phone Number")
    due_now(rt, clock, scheduled)
    dispatch(rt, clock)
    clock.advance(hours=2)
    dispatch(rt, clock)
    assert len(fake_twilio.requests) == 1
    assert "21211" in checkin(rt, scheduled).state_reason


def test_failed_important_checkin_creates_human_task(scheduled, fake_twilio, rt, clock, client, read_headers):
    fake_twilio.decide = lambda form: twilio_error(400, 21211, "Invalid number")
    due_now(rt, clock, scheduled)
    dispatch(rt, clock)
    items = client.get("/api/v1/routing/queue", headers=read_headers).get_json()["items"]
    assert items and items[0]["kind"] == "human_task" and "reach them another way" in items[0]["title"]


def test_connection_refused_is_transient(fake_twilio, overrides, post_event, clock):
    from aftercare.app import create_app

    overrides["twilio"]["api_base_url"] = "http://127.0.0.1:9"
    app2 = create_app(overrides)
    rt2 = app2.extensions["aftercare"]
    rt2.clock = clock
    checkin_id = post_event(interaction_event()).get_json()["checkin"]["id"]
    due_now(rt2, clock, checkin_id)
    assert dispatch(rt2, clock).retried == 1
    assert "unreachable" in checkin(rt2, checkin_id).state_reason


def test_per_sender_rate_limit_spreads_sends(fake_twilio, overrides, post_event, clock):
    from aftercare.app import create_app

    overrides["twilio"]["max_per_second"] = 0.5
    app2 = create_app(overrides)
    rt2 = app2.extensions["aftercare"]
    rt2.clock = clock
    ids = [post_event(interaction_event(**{"interaction.case_id": f"c{i}", "customer.id": f"cus{i}"}))
           .get_json()["checkin"]["id"] for i in range(3)]
    due_now(rt2, clock, *ids)
    report = dispatch(rt2, clock)
    assert report.sent == 1 and report.deferred == 2
    deferred = sorted(checkin(rt2, i).due_at for i in ids if checkin(rt2, i).state == "scheduled")
    assert deferred == [clock.now + timedelta(seconds=2), clock.now + timedelta(seconds=4)]


def test_crash_after_send_is_reconciled_not_resent(scheduled, fake_twilio, rt, clock):
    """Worker sent, then died before recording: the next worker finds the message at Twilio."""
    from followup.channels import OutboundMessage

    due_now(rt, clock, scheduled)
    with rt.db.session() as session:
        row = session.get(CheckIn, scheduled)
        row.state, row.claimed_by, row.lease_until = "claimed", "dead-worker", clock.now - timedelta(seconds=1)
        row.send_started_at, row.attempts = clock.now - timedelta(minutes=3), 1
        message = OutboundMessage(checkin_id=row.id, channel="sms", to=row.address, body=row.body)
        session.commit()
    rt.services["channels"]["sms"].send(message)
    assert dispatch(rt, clock).reconciled == 1
    assert fake_twilio.sends_per_checkin()[scheduled] == 1
    assert checkin(rt, scheduled).state == "sent"


def test_status_callback_before_record_reconciles(scheduled, fake_twilio, rt, clock, twilio_post):
    due_now(rt, clock, scheduled)
    with rt.db.session() as session:
        row = session.get(CheckIn, scheduled)
        row.state, row.claimed_by, row.lease_until = "claimed", "dead-worker", clock.now - timedelta(seconds=1)
        row.send_started_at = clock.now - timedelta(minutes=1)
        session.commit()
    resp = twilio_post(f"/webhooks/twilio/status?checkin={scheduled}", {"MessageSid": "SMabc", "MessageStatus": "sent"})
    assert resp.status_code == 204
    assert dispatch(rt, clock).sent == 0
    assert len(fake_twilio.requests) == 0
    row = checkin(rt, scheduled)
    assert row.state == "sent" and row.provider_message_id == "SMabc"


def test_in_doubt_without_evidence_waits_for_callbacks_before_resending(scheduled, fake_twilio, rt, clock):
    due_now(rt, clock, scheduled)
    with rt.db.session() as session:
        row = session.get(CheckIn, scheduled)
        row.state, row.claimed_by, row.lease_until = "claimed", "dead-worker", clock.now - timedelta(seconds=1)
        row.send_started_at = clock.now - timedelta(minutes=3)
        session.commit()
    assert dispatch(rt, clock).deferred == 1 and len(fake_twilio.requests) == 0
    clock.advance(minutes=8)
    assert dispatch(rt, clock).sent == 1
    assert fake_twilio.sends_per_checkin()[scheduled] == 1


def _sent(rt, clock, checkin_id):
    due_now(rt, clock, checkin_id)
    dispatch(rt, clock)


def test_status_callbacks_update_state(scheduled, rt, clock, twilio_post):
    _sent(rt, clock, scheduled)
    sid = checkin(rt, scheduled).provider_message_id
    assert twilio_post(f"/webhooks/twilio/status?checkin={scheduled}",
                       {"MessageSid": sid, "MessageStatus": "delivered"}).status_code == 204
    assert checkin(rt, scheduled).state == "delivered"


def test_undelivered_important_case_gets_a_person(scheduled, rt, clock, twilio_post, client, read_headers):
    _sent(rt, clock, scheduled)
    sid = checkin(rt, scheduled).provider_message_id
    twilio_post(f"/webhooks/twilio/status?checkin={scheduled}",
                {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"})
    row = checkin(rt, scheduled)
    assert row.state == "failed" and "30003" in row.state_reason
    items = client.get("/api/v1/routing/queue", headers=read_headers).get_json()["items"]
    assert items[0]["kind"] == "human_task"


@pytest.mark.parametrize("signature", ["", "forged=="])
def test_webhooks_refuse_missing_or_forged_signatures(scheduled, rt, clock, twilio_post, signature):
    _sent(rt, clock, scheduled)
    for path, form in ((f"/webhooks/twilio/status?checkin={scheduled}", {"MessageSid": "x", "MessageStatus": "failed"}),
                       ("/webhooks/twilio/sms", {"From": "+447700900123", "Body": "STOP", "MessageSid": "SM1"})):
        resp = twilio_post(path, form, signature=signature)
        assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    with rt.db.session() as session:
        assert session.get(CheckIn, scheduled).state == "sent"
        assert session.get(OptOut, "+447700900123") is None


def test_signature_for_another_url_is_refused(scheduled, rt, clock, twilio_post):
    from twilio.request_validator import RequestValidator

    from tests.support.factories import TWILIO_TOKEN

    form = {"From": "+447700900123", "Body": "STOP", "MessageSid": "SM1"}
    sig = RequestValidator(TWILIO_TOKEN).compute_signature("https://evil.example/webhooks/twilio/sms", form)
    assert twilio_post("/webhooks/twilio/sms", form, signature=sig).status_code == 403


def sms(twilio_post, body, sid, sender="+447700900123"):
    return twilio_post("/webhooks/twilio/sms", {"From": sender, "Body": body, "MessageSid": sid})


def test_inbound_reply_reopens_and_answers_twiml(scheduled, rt, clock, twilio_post, client, read_headers):
    _sent(rt, clock, scheduled)
    resp = sms(twilio_post, "thx for nothing, it's still double charging me", "SM100")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    assert "<Message>" in resp.get_data(as_text=True) and "Maria" in resp.get_data(as_text=True)
    case = client.get("/api/v1/cases/case_77", headers=read_headers).get_json()
    assert case["state"] == "reopened" and case["replies"][0]["intent"] == "reopen"


def test_a_reply_with_nul_is_stored_without_it_on_either_database(scheduled, rt, clock, twilio_post, client,
                                                                  read_headers):
    """Twilio never retries an inbound text: one PostgreSQL cannot store as sent must still be kept, not refused."""
    _sent(rt, clock, scheduled)
    resp = sms(twilio_post, "still\x00 broken", "SM150")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    case = client.get("/api/v1/cases/case_77", headers=read_headers).get_json()
    assert case["state"] == "reopened" and case["replies"][0]["text"] == "still broken"


def test_twilio_retry_of_the_same_message_changes_nothing(scheduled, rt, clock, twilio_post):
    _sent(rt, clock, scheduled)
    sms(twilio_post, "still broken", "SM200")
    sms(twilio_post, "still broken", "SM200")
    with rt.db.session() as session:
        assert len(session.scalars(select(Reply)).all()) == 1


@pytest.mark.parametrize("text", ["STOP", "Stop.", "stop please", "UnSubscribe", " stop! ", "Please stop"])
def test_stop_family_opts_out(scheduled, rt, clock, twilio_post, text):
    _sent(rt, clock, scheduled)
    resp = sms(twilio_post, text, "SM300")
    assert resp.status_code == 200
    with rt.db.session() as session:
        assert session.get(OptOut, "+447700900123") is not None


def test_start_opts_back_in_and_help_answers(scheduled, rt, clock, twilio_post):
    _sent(rt, clock, scheduled)
    sms(twilio_post, "STOP", "SM1")
    sms(twilio_post, "Start", "SM2")
    with rt.db.session() as session:
        assert session.get(OptOut, "+447700900123") is None
    resp = sms(twilio_post, "help?", "SM3")
    assert "Reply STOP" in resp.get_data(as_text=True)


def test_stop_then_no_more_texts(scheduled, rt, clock, twilio_post, post_event, fake_twilio):
    _sent(rt, clock, scheduled)
    sms(twilio_post, "stop", "SM9")
    clock.advance(days=2)
    body = post_event(interaction_event(**{"interaction.case_id": "case_2", "customer.consent": {"sms": True}})).get_json()
    assert body["checkin"] is None and "opted out" in " ".join(body["schedule_reasons"])


def test_reply_goes_to_the_latest_of_two_open_checkins(fake_twilio, post_event, rt, clock, twilio_post, client,
                                                       read_headers):
    first = post_event(interaction_event(**{"interaction.case_id": "case_a"})).get_json()["checkin"]["id"]
    _sent(rt, clock, first)
    clock.advance(days=2)
    second = post_event(interaction_event(**{"interaction.case_id": "case_b",
                                             "interaction.ended_at": "2026-11-27T14:00:00Z"})).get_json()["checkin"]["id"]
    _sent(rt, clock, second)
    sms(twilio_post, "still not working", "SM400")
    assert client.get("/api/v1/cases/case_b", headers=read_headers).get_json()["state"] == "reopened"
    assert client.get("/api/v1/cases/case_a", headers=read_headers).get_json()["state"] == "closed"
    assert checkin(rt, first).state == "sent" and checkin(rt, second).state == "replied"


def test_reply_with_no_checkin_is_stored_and_listed(fake_twilio, rt, clock, twilio_post, client, read_headers):
    resp = sms(twilio_post, "hello? who is this", "SM500", sender="+447700900999")
    assert resp.status_code == 200
    items = client.get("/api/v1/replies?unmatched=true", headers=read_headers).get_json()["items"]
    assert [i["text"] for i in items] == ["hello? who is this"]


def test_in_doubt_and_twilio_unreachable_defers_instead_of_resending(fake_twilio, overrides, post_event, clock):
    """'Could not ask' is not 'not sent': the check-in waits rather than risking a second text."""
    from aftercare.app import create_app

    overrides["twilio"]["api_base_url"] = "http://127.0.0.1:9"
    rt2 = create_app(overrides).extensions["aftercare"]
    rt2.clock = clock
    checkin_id = post_event(interaction_event()).get_json()["checkin"]["id"]
    with rt2.db.session() as session:
        row = session.get(CheckIn, checkin_id)
        row.state, row.claimed_by, row.lease_until = "claimed", "dead-worker", clock.now - timedelta(seconds=1)
        row.due_at, row.send_started_at, row.attempts = clock.now, clock.now - timedelta(hours=1), 1
        session.commit()
    report = dispatch(rt2, clock)
    assert report.deferred == 1 and report.sent == 0 and report.retried == 0
    row = checkin(rt2, checkin_id)
    assert row.state == "scheduled" and "could not be asked" in row.state_reason and row.attempts == 1


def test_acknowledgement_names_the_agent_only_when_the_case_went_back_to_her(scheduled, rt, clock, twilio_post):
    from wellbeing.models import Agent

    _sent(rt, clock, scheduled)
    with rt.db.session() as session:
        session.get(Agent, "ag_1").state = "on_break"
        session.commit()
    answer = sms(twilio_post, "No, it still charges me twice", "SM700").get_data(as_text=True)
    assert "<Message>" in answer and "Maria" not in answer and "support team" in answer


def test_yes_closes_the_loop_and_says_so(scheduled, rt, clock, twilio_post, client, read_headers):
    _sent(rt, clock, scheduled)
    answer = sms(twilio_post, "YES", "SM701").get_data(as_text=True)
    assert "closed your case" in answer
    assert client.get("/api/v1/cases/case_77", headers=read_headers).get_json()["state"] == "closed"


@pytest.mark.parametrize("word", ["BAJA", "ARRÊT", "STOPP", "PARAR"])
def test_our_languages_stop_words_opt_out(scheduled, rt, clock, twilio_post, word):
    _sent(rt, clock, scheduled)
    sms(twilio_post, word, "SM702")
    with rt.db.session() as session:
        assert session.get(OptOut, "+447700900123") is not None
