"""Bad input gets a clear 4xx problem+json naming the field, and nothing stored changes."""
from __future__ import annotations

import json

import pytest

from tests.support.factories import DELETE, TEST_SECRET, interaction_event
from tests.support.problems import assert_problem, row_counts


@pytest.fixture
def before(rt, post_event):
    post_event(interaction_event(**{"event_id": "evt_existing"}))
    return row_counts(rt)


def test_missing_signature(client, rt, before):
    resp = client.post("/webhooks/crm", json=interaction_event())
    assert "missing" in assert_problem(resp, 401)["detail"]
    assert row_counts(rt) == before


def test_forged_signature(post_event, rt, before):
    assert_problem(post_event(interaction_event(), secret="not-the-secret"), 401)
    assert row_counts(rt) == before


def test_signature_over_a_different_body(client, clock, rt, before):
    from aftercare.core.signing import sign

    good = json.dumps(interaction_event()).encode()
    header = sign(TEST_SECRET, good, int(clock.now.timestamp()))
    tampered = good.replace(b"-0.7", b"0.9")
    resp = client.post("/webhooks/crm", data=tampered, headers={"Aftercare-Signature": header,
                                                                "Content-Type": "application/json"})
    assert_problem(resp, 401)
    assert row_counts(rt) == before


def test_stale_timestamp(post_event, clock, rt, before):
    resp = post_event(interaction_event(), timestamp=int(clock.now.timestamp()) - 301)
    assert "window" in assert_problem(resp, 401)["detail"]
    assert row_counts(rt) == before


def test_rotation_accepts_either_secret(app, overrides, clock):
    from aftercare.app import create_app
    from aftercare.core.signing import sign

    overrides["crm"]["webhook_secret"] = "old_secret,new_secret"
    rotated = create_app(overrides)
    rotated.extensions["aftercare"].clock = clock
    body = json.dumps(interaction_event()).encode()
    resp = rotated.test_client().post("/webhooks/crm", data=body, headers={
        "Aftercare-Signature": sign("old_secret", body, int(clock.now.timestamp())), "Content-Type": "application/json"})
    assert resp.status_code == 202


def test_duplicate_event_id_returns_original_and_changes_nothing(post_event, rt, before):
    again = interaction_event(**{"event_id": "evt_existing"})
    resp = post_event(again)
    assert resp.status_code == 200 and resp.headers["Aftercare-Duplicate"] == "true"
    assert resp.get_json()["triage"]["decision"] == "automated_checkin"
    assert row_counts(rt) == before


def test_same_interaction_under_a_new_event_id_is_a_conflict(post_event, rt):
    event = interaction_event()
    post_event(event)
    counts = row_counts(rt)
    assert_problem(post_event({**event, "event_id": "evt_other"}), 409)
    assert row_counts(rt) == counts


def test_malformed_json(post_event, rt, before):
    assert_problem(post_event(b'{"event_id": "evt_1", "type": '), 400)
    assert row_counts(rt) == before


def test_not_an_object(post_event, rt, before):
    assert_problem(post_event(b"[1, 2]"), 422, "body")
    assert row_counts(rt) == before


@pytest.mark.parametrize("dotted,value,field", [
    ("interaction.customer_sentiment", "very bad", "interaction.customer_sentiment"),
    ("interaction.repeat_contact_count", "two", "interaction.repeat_contact_count"),
    ("interaction.escalated_from_bot", "maybe", "interaction.escalated_from_bot"),
    ("interaction.channel", "pigeon", "interaction.channel"),
    ("interaction.signals", "abusive_language", "interaction.signals"),
    ("occurred_at", "yesterday", "occurred_at"),
    ("customer.consent", {"sms": "sure"}, "customer.consent.sms"),
])
def test_wrong_types(post_event, rt, before, dotted, value, field):
    assert_problem(post_event(interaction_event(**{dotted: value})), 422, field)
    assert row_counts(rt) == before


@pytest.mark.parametrize("dotted", ["event_id", "type", "occurred_at", "interaction", "customer",
                                    "interaction.id", "interaction.case_id", "customer.id", "customer.timezone"])
def test_missing_required_fields(post_event, rt, before, dotted):
    assert_problem(post_event(interaction_event(**{dotted: DELETE})), 422, dotted)
    assert row_counts(rt) == before


def test_every_bad_field_is_named(post_event):
    body = assert_problem(post_event(interaction_event(**{"customer.timezone": "Mars/Olympus",
                                                          "customer.phone": "12"})), 422)
    assert {"customer.timezone", "customer.phone"} <= {e["field"] for e in body["errors"]}


def test_unknown_time_zone(post_event, rt, before):
    body = assert_problem(post_event(interaction_event(**{"customer.timezone": "Europe/Atlantis"})), 422,
                          "customer.timezone")
    assert "Europe/Atlantis" in body["errors"][0]["message"]
    assert row_counts(rt) == before


@pytest.mark.parametrize("phone", ["12", "+4412", "not a number", "+44770090012345"])
def test_invalid_phone(post_event, rt, before, phone):
    assert_problem(post_event(interaction_event(**{"customer.phone": phone})), 422, "customer.phone")
    assert row_counts(rt) == before


def test_phone_is_normalised_to_e164(post_event, client, read_headers):
    body = post_event(interaction_event(**{"customer.phone": "+44 (0)7911 123-456"})).get_json()
    got = client.get(f"/api/v1/checkins/{body['checkin']['id']}", headers=read_headers).get_json()
    assert got["address"] == "+447911123456"


def test_unknown_event_type(post_event, rt, before):
    assert_problem(post_event(interaction_event(type="interaction.exploded")), 422, "type")
    assert row_counts(rt) == before


def test_unknown_fields_are_ignored(post_event):
    assert post_event(interaction_event(**{"interaction.mood_ring": "blue", "extra": 1})).status_code == 202


def test_body_over_1mb(post_event, rt, before):
    event = interaction_event(**{"interaction.category": "x" * (1024 * 1024)})
    assert_problem(post_event(event), 413)
    assert row_counts(rt) == before


def test_unknown_checkin_id(client, read_headers, manager_headers, rt, before):
    assert_problem(client.get("/api/v1/checkins/chk_nope", headers=read_headers), 404)
    assert_problem(client.post("/api/v1/checkins/chk_nope/send-now", headers=manager_headers), 404)
    assert_problem(client.post("/api/v1/checkins/chk_nope/simulate-reply", json={"text": "hi"},
                               headers=manager_headers), 404)
    assert_problem(client.get("/api/v1/cases/case_nope", headers=read_headers), 404)
    assert row_counts(rt) == before


def test_wrong_scope(client, read_headers, rt, before, app):
    from tests.support.factories import make_key

    checkin_id = client.get("/api/v1/checkins", headers=read_headers).get_json()["items"][0]["id"]
    assert_problem(client.post(f"/api/v1/checkins/{checkin_id}/send-now", headers=read_headers), 403)
    assert_problem(client.post(f"/api/v1/checkins/{checkin_id}/simulate-reply", json={"text": "fine"},
                               headers=read_headers), 403)
    crm_only = {"Authorization": f"Bearer {make_key(app, 'crm')}"}
    assert_problem(client.get("/api/v1/checkins", headers=crm_only), 403)
    assert row_counts(rt) == before


def test_missing_or_unknown_key(client):
    assert_problem(client.get("/api/v1/checkins"), 401)
    assert_problem(client.get("/api/v1/checkins", headers={"Authorization": "Bearer ak_made_up"}), 401)


def test_bad_query_and_body_fields_are_named(client, read_headers, manager_headers, before):
    assert_problem(client.get("/api/v1/checkins?state=lost", headers=read_headers), 422, "state")
    checkin_id = client.get("/api/v1/checkins", headers=read_headers).get_json()["items"][0]["id"]
    assert_problem(client.post(f"/api/v1/checkins/{checkin_id}/simulate-reply", json={"txt": "x"},
                               headers=manager_headers), 422, "text")


def test_simulate_reply_before_sending_is_a_conflict(client, read_headers, manager_headers, rt, before):
    checkin_id = client.get("/api/v1/checkins", headers=read_headers).get_json()["items"][0]["id"]
    assert_problem(client.post(f"/api/v1/checkins/{checkin_id}/simulate-reply", json={"text": "fixed"},
                               headers=manager_headers), 409)
    assert row_counts(rt) == before


def test_404_405_are_problems(client):
    assert_problem(client.get("/no/such/page"), 404)
    resp = client.get("/webhooks/crm")
    assert_problem(resp, 405)
    assert "POST" in resp.headers["Allow"]


def test_unexpected_error_is_a_problem_without_a_stack_trace(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    body = assert_problem(client.get("/boom"), 500)
    assert "secret internals" not in json.dumps(body) and "Traceback" not in json.dumps(body)
