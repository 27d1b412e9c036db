"""The spine end to end on a real database: webhook → triage → check-in → dispatch → reply → reopen/close."""
from __future__ import annotations

from followup.dispatch import dispatch_due
from tests.support.factories import interaction_event


def _dispatch(rt, clock):
    return dispatch_due(rt.db, rt.services["channels"], now=clock.now, worker="test-worker")


def test_rough_interaction_schedules_a_humane_checkin(post_event, client, read_headers):
    resp = post_event(interaction_event())
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["triage"]["decision"] == "automated_checkin"
    assert any("emotional load" in r for r in body["triage"]["reasons"])
    # ended 14:00 London (GMT in November) → +3 h = 17:00 local = 17:00 UTC
    assert body["checkin"]["due_at"].startswith("2026-11-25T17:00:00")
    assert body["agent_load"]["agent_id"] == "ag_1" and body["agent_load"]["load"] > 0
    got = client.get(f"/api/v1/checkins/{body['checkin']['id']}", headers=read_headers).get_json()
    assert got["state"] == "scheduled" and got["channel"] == "sms"
    assert "Maria" in got["body"] and "double charge" in got["body"] and "Lopez" not in got["body"]


def test_full_loop_reply_reopens_to_the_same_agent(post_event, client, manager_headers, rt, clock):
    checkin_id = post_event(interaction_event()).get_json()["checkin"]["id"]
    assert client.post(f"/api/v1/checkins/{checkin_id}/send-now", headers=manager_headers).status_code == 202
    report = _dispatch(rt, clock)
    assert report.sent == 1
    outbox = rt.services["channels"]["sms"].outbox
    assert [m.checkin_id for m in outbox] == [checkin_id]
    resp = client.post(f"/api/v1/checkins/{checkin_id}/simulate-reply", json={"text": "thanks, but it's still broken"},
                       headers=manager_headers)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["verdict"]["intent"] == "reopen"
    case = client.get("/api/v1/cases/case_77", headers=manager_headers).get_json()
    assert case["state"] == "reopened"
    assert "still broken" in case["reopen_reason"]
    assert case["replies"][0]["intent"] == "reopen"
    queue = client.get("/api/v1/routing/queue", headers=manager_headers).get_json()["items"]
    assert queue[0]["case_id"] == "case_77" and queue[0]["preferred_agent_id"] == "ag_1"
    assert queue[0]["priority"] >= 90


def test_resolved_reply_closes_the_loop(post_event, client, manager_headers, rt, clock):
    checkin_id = post_event(interaction_event()).get_json()["checkin"]["id"]
    client.post(f"/api/v1/checkins/{checkin_id}/send-now", headers=manager_headers)
    _dispatch(rt, clock)
    resp = client.post(f"/api/v1/checkins/{checkin_id}/simulate-reply", json={"text": "Thanks, all sorted now!"},
                       headers=manager_headers)
    assert resp.get_json()["verdict"]["intent"] == "resolved"
    case = client.get("/api/v1/cases/case_77", headers=manager_headers).get_json()
    assert case["state"] == "closed" and case["loop_closed_at"]
    assert client.get("/api/v1/routing/queue", headers=manager_headers).get_json()["items"] == []


def test_stop_opts_the_address_out_and_cancels_pending(post_event, client, manager_headers, rt, clock):
    first = post_event(interaction_event()).get_json()["checkin"]["id"]
    client.post(f"/api/v1/checkins/{first}/send-now", headers=manager_headers)
    _dispatch(rt, clock)
    resp = client.post(f"/api/v1/checkins/{first}/simulate-reply", json={"text": "STOP"}, headers=manager_headers)
    assert resp.get_json()["verdict"]["intent"] == "opt_out"
    # another customer record with the same phone: never texted again, email used instead
    clock.advance(days=2)
    later = post_event(interaction_event(**{"interaction.case_id": "case_78", "customer.id": "cus_6",
                                            "interaction.ended_at": "2026-11-27T14:00:00Z"}))
    checkin = later.get_json()["checkin"]
    assert checkin is not None and checkin["channel"] == "email"


def test_customer_contacted_cancels_and_case_updated_cancels(post_event, client, read_headers, clock):
    a = post_event(interaction_event()).get_json()["checkin"]["id"]
    r = post_event({"event_id": "evt_contact", "type": "customer.contacted", "occurred_at": "2026-11-25T15:00:00Z",
                    "customer": {"id": "cus_5"}})
    assert r.status_code == 202 and r.get_json()["cancelled"] == [a]
    assert client.get(f"/api/v1/checkins/{a}", headers=read_headers).get_json()["state"] == "cancelled"
    clock.advance(days=2)
    b = post_event(interaction_event(**{"interaction.case_id": "case_90",
                                        "interaction.ended_at": "2026-11-27T14:00:00Z"})).get_json()["checkin"]["id"]
    r = post_event({"event_id": "evt_upd", "type": "case.updated", "occurred_at": "2026-11-27T15:00:00Z",
                    "case": {"id": "case_90"}})
    assert r.status_code == 202 and r.get_json()["cancelled"] == [b]


def test_human_callback_creates_a_human_task_not_a_message(post_event, client, read_headers):
    event = interaction_event(**{"interaction.signals": ["vulnerable_customer"]})
    body = post_event(event).get_json()
    assert body["triage"]["decision"] == "human_callback" and body["checkin"] is None
    items = client.get("/api/v1/routing/queue", headers=read_headers).get_json()["items"]
    assert items[0]["kind"] == "human_task" and items[0]["case_id"] == "case_77"


def test_routine_resolved_interaction_gets_no_followup(post_event):
    event = interaction_event(**{"interaction.resolution": "resolved", "interaction.customer_sentiment": 0.6,
                                 "interaction.signals": [], "interaction.repeat_contact_count": 0,
                                 "interaction.escalated_from_bot": False, "interaction.category": "password_reset"})
    body = post_event(event).get_json()
    assert body["triage"]["decision"] == "none" and body["checkin"] is None


def test_reply_to_customer_with_no_checkin_is_stored_unmatched(app, rt, client, read_headers, clock):
    from followup.replies import receive_reply

    with rt.db.session() as session:
        receive_reply(session, text="who is this?", channel="sms", now=clock.now, crm=rt.services["crm"],
                      from_address="+447700900999")
        session.commit()
    items = client.get("/api/v1/replies?unmatched=true", headers=read_headers).get_json()["items"]
    assert [i["text"] for i in items] == ["who is this?"]


def test_a_customer_without_a_locale_gets_the_configured_default_language(overrides, request):
    """followup.default_locale decides when the CRM sends no locale (it used to be read by nothing)."""
    from tests.support.factories import DELETE

    overrides.setdefault("followup", {})["default_locale"] = "es"
    post_event, client = request.getfixturevalue("post_event"), request.getfixturevalue("client")
    headers = request.getfixturevalue("read_headers")
    checkin = post_event(interaction_event(**{"customer.locale": DELETE})).get_json()["checkin"]
    stored = client.get(f"/api/v1/checkins/{checkin['id']}", headers=headers).get_json()
    assert stored["body"].startswith("Hola Sam"), stored["body"]
