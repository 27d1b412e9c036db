"""Every native connector (SPEC §10) against a local fake of its desk's API, with fixture payloads cited from the
desk's docs or source: a signed close schedules a check-in for the right customer (inline and queued); forged,
stale and replayed deliveries change nothing; an ignored event is 200 with the reason; a contact look-up that fails
is kept as a failed event and retried; a reopen goes back to the desk — delivered, retried, or a dead letter."""
from __future__ import annotations

import json

import pytest
from werkzeug import Response

from followup.crm.outbox import deliver_every_adapter, policy_from_settings
from intake.queue import apply_queued
from tests.support.desks import CASES, SECRET, WRONG, body_of, serve_lookups, stale
from tests.support.reopen import STILL_BROKEN, assert_problem, deliveries, only_delivery, snapshot


@pytest.fixture(params=sorted(CASES))
def desk(request):
    return CASES[request.param]


@pytest.fixture
def overrides(overrides, httpserver, desk):
    overrides.update(desk.settings(httpserver.url_for("/").rstrip("/")))
    overrides["connectors"] = {"lookup_attempts": 2}
    return overrides


@pytest.fixture
def post_desk(client, clock, desk):
    def _post(payload=None, *, raw: bytes | None = None, at=None, secret: str = SECRET, headers: dict | None = None):
        body = raw if raw is not None else body_of(payload if payload is not None else desk.payload())
        sent = headers if headers is not None else desk.headers(body, at or clock.now, secret=secret)
        return client.post(f"/webhooks/{desk.name}", data=body, headers=sent)

    return _post


def _case(client, desk, headers) -> dict:
    resp = client.get(f"/api/v1/cases/{desk.name}:{desk.desk_ref}", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def _closed(client, desk, post_desk, httpserver, manager_headers) -> dict:
    serve_lookups(httpserver, desk)
    resp = post_desk()
    assert resp.status_code == 202, resp.get_data(as_text=True)
    return _case(client, desk, manager_headers)


@pytest.mark.parametrize("mode", ["inline", "queued"])
def test_a_signed_close_schedules_a_checkin_for_the_right_customer(mode, overrides, desk, client, rt, clock,
                                                                   post_desk, httpserver, manager_headers):
    rt.settings = rt.settings.replace("crm", intake_mode=mode)
    serve_lookups(httpserver, desk)
    resp = post_desk()
    assert resp.status_code == 202, resp.get_data(as_text=True)
    if mode == "queued":
        assert resp.get_json()["status"] == "queued"
        assert apply_queued(rt.db, ctx=rt.followup, clock=clock, worker="w").processed == 1
    case = _case(client, desk, manager_headers)
    assert (case["desk"], case["desk_ref"], case["customer_id"]) == (desk.name, desk.desk_ref, desk.customer_id)
    assert len(case["checkins"]) == 1, json.dumps(case["interactions"])
    [checkin] = case["checkins"]
    assert (checkin["channel"], checkin["address"], checkin["state"]) == (*desk.checkin, "scheduled")
    looked_up = {request.path for request, _ in httpserver.log}
    assert looked_up == (set(desk.lookups) if desk.close_looks_up else set())
    with rt.db.session() as session:
        from followup.models import Customer

        assert session.get(Customer, desk.customer_id).timezone == desk.timezone


def test_forged_stale_and_unsigned_deliveries_are_refused_and_change_nothing(desk, post_desk, rt, clock, httpserver):
    before = snapshot(rt)
    refused = [post_desk(secret=WRONG), post_desk(headers={"Content-Type": "application/json"})]
    if desk.stale:
        refused.append(post_desk(at=stale(clock.now)))
    for resp in refused:
        assert_problem(resp, 401)
    assert snapshot(rt) == before and httpserver.log == []  # not even a look-up was made


def test_a_replayed_delivery_changes_nothing(desk, client, post_desk, rt, clock, httpserver):
    serve_lookups(httpserver, desk)
    body = body_of(desk.payload())
    headers = desk.headers(body, clock.now)
    first = client.post(f"/webhooks/{desk.name}", data=body, headers=headers)
    assert first.status_code == 202, first.get_data(as_text=True)
    after_first, calls = snapshot(rt), len(httpserver.log)
    again = client.post(f"/webhooks/{desk.name}", data=body, headers=headers)
    assert again.status_code == 200 and again.headers["Aftercare-Duplicate"] == "true"
    assert again.get_json()["event_id"] == first.get_json()["event_id"]
    assert snapshot(rt) == after_first and len(httpserver.log) == calls


def test_an_event_we_do_not_act_on_is_200_ignored_with_the_reason(desk, post_desk, rt, httpserver):
    before = snapshot(rt)
    resp = post_desk(desk.payload(desk.ignored))
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "ignored" and body["reason"], body
    assert snapshot(rt) == before


@pytest.mark.parametrize("raw,status", [(b"{not json", 400), (b"[1, 2]", 422)])
def test_a_body_that_is_no_json_object_is_a_problem_and_changes_nothing(desk, post_desk, rt, raw, status):
    before = snapshot(rt)
    assert_problem(post_desk(raw=raw), status)
    assert snapshot(rt) == before


def test_the_customer_coming_back_cancels_the_checkin(desk, client, post_desk, httpserver, manager_headers):
    if desk.contacted is None:
        pytest.skip(f"{desk.name} sends only the closes its automation rule fires on")
    _closed(client, desk, post_desk, httpserver, manager_headers)
    resp = post_desk(desk.payload(desk.contacted))
    assert resp.status_code == 202 and resp.get_json()["status"] == "processed", resp.get_data(as_text=True)
    [checkin] = _case(client, desk, manager_headers)["checkins"]
    assert checkin["state"] == "cancelled"


def test_a_failed_contact_lookup_is_kept_visible_and_retried(desk, client, post_desk, rt, clock, httpserver,
                                                             manager_headers, read_headers):
    answers = {"status": 503}

    def lookup(_request):
        if answers["status"] != 200:
            return Response("upstream down", status=answers["status"])
        name = desk.lookups[desk.failing_lookup]
        return Response(json.dumps(fixture_payload(desk, name)), content_type="application/json")

    httpserver.expect_request(desk.failing_lookup, method="GET").respond_with_handler(lookup)
    serve_lookups(httpserver, desk, skip=desk.failing_lookup)
    resp = post_desk(desk.needs_lookup(desk.payload()))
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "failed", body
    assert body["problem"]["status"] == 502 and desk.name in body["problem"]["detail"]
    [failed] = client.get("/api/v1/crm/events?state=failed", headers=read_headers).get_json()["items"]
    assert failed["event_id"] == body["event_id"] and "503" in failed["last_error"]
    assert client.get(f"/api/v1/cases/{desk.name}:{desk.desk_ref}", headers=read_headers).status_code == 404

    assert_problem(client.post(f"/api/v1/crm/events/{body['event_id']}/retry", headers=manager_headers), 502)
    answers["status"] = 200
    retried = client.post(f"/api/v1/crm/events/{body['event_id']}/retry", headers=manager_headers)
    assert retried.status_code == 202 and retried.get_json()["state"] == "queued", retried.get_data(as_text=True)
    assert apply_queued(rt.db, ctx=rt.followup, clock=clock, worker="w").processed == 1
    assert _case(client, desk, manager_headers)["checkins"]


def fixture_payload(desk, name):
    from tests.support.desks import fixture

    return fixture(desk.name, name)


# -- the reopen goes back to the desk the case came from ------------------------------------------------------------

def _reopened(client, desk, post_desk, httpserver, rt, clock, manager_headers) -> None:
    from followup.dispatch import dispatch_due

    checkin = _closed(client, desk, post_desk, httpserver, manager_headers)["checkins"][0]["id"]
    assert client.post(f"/api/v1/checkins/{checkin}/send-now", headers=manager_headers).status_code == 202
    assert dispatch_due(rt.db, rt.services["channels"], now=clock.now, worker="w").sent == 1
    outcome = client.post(f"/api/v1/checkins/{checkin}/simulate-reply", json={"text": STILL_BROKEN},
                          headers=manager_headers).get_json()
    assert outcome["verdict"]["intent"] == "reopen", outcome


def _deliver(rt, clock):
    return deliver_every_adapter(rt.db, rt.services["crm_adapters"], clock=clock,
                                 policy=policy_from_settings(rt.settings))


def _reopen_calls(httpserver, desk) -> list[tuple[str, str]]:
    return [(request.method, request.path) for request, _ in httpserver.log
            if (request.method, request.path) in desk.reopen]


def test_a_reopen_goes_back_to_the_desk_it_came_from(desk, client, post_desk, httpserver, rt, clock,
                                                     manager_headers):
    for method, api_path in desk.reopen:
        httpserver.expect_request(api_path, method=method).respond_with_json({"ok": True})
    _reopened(client, desk, post_desk, httpserver, rt, clock, manager_headers)
    assert _deliver(rt, clock)[desk.name].done == 1
    row = only_delivery(rt)
    assert (row.adapter, row.state, row.payload["desk_ref"]) == (desk.name, "delivered", desk.desk_ref)
    assert _reopen_calls(httpserver, desk) == desk.reopen
    sent = " ".join(json.dumps(request.get_json()) for request, _ in httpserver.log
                    if (request.method, request.path) in desk.reopen)
    assert "still broken" in sent and "Verdict: reopen" in sent


def test_a_reopen_the_desk_refuses_for_now_is_retried(desk, client, post_desk, httpserver, rt, clock,
                                                      manager_headers):
    calls = {"first": 0}

    def busy_once(_request):
        calls["first"] += 1
        return Response("busy", status=503) if calls["first"] == 1 else Response("{}", content_type="application/json")

    first_method, first_path = desk.reopen[0]
    httpserver.expect_request(first_path, method=first_method).respond_with_handler(busy_once)
    for method, api_path in desk.reopen[1:]:
        httpserver.expect_request(api_path, method=method).respond_with_json({"ok": True})
    _reopened(client, desk, post_desk, httpserver, rt, clock, manager_headers)
    assert _deliver(rt, clock)[desk.name].retried == 1
    row = only_delivery(rt)
    assert row.state == "pending" and "503" in row.last_error
    clock.now = row.next_attempt_at
    assert _deliver(rt, clock)[desk.name].done == 1
    assert (only_delivery(rt).state, only_delivery(rt).attempts) == ("delivered", 2)


def test_a_reopen_the_desk_cannot_take_is_a_dead_letter(desk, client, post_desk, httpserver, rt, clock,
                                                       manager_headers, read_headers):
    method, api_path = desk.reopen[0]
    httpserver.expect_request(api_path, method=method).respond_with_json({"error": "RecordNotFound"}, status=404)
    _reopened(client, desk, post_desk, httpserver, rt, clock, manager_headers)
    assert _deliver(rt, clock)[desk.name].dead == 1
    [item] = client.get("/api/v1/crm/dead-letters", headers=read_headers).get_json()["items"]
    assert item["adapter"] == desk.name and "404" in item["last_error"]
    assert len(deliveries(rt)) == 1


# -- what each desk's own payload says ------------------------------------------------------------------------------

@pytest.mark.parametrize("desk", [CASES["zendesk"]])
def test_a_zendesk_trigger_body_is_a_close_with_the_satisfaction_as_sentiment(desk, client, post_desk, httpserver,
                                                                              manager_headers):
    serve_lookups(httpserver, desk)
    resp = post_desk(desk.payload("trigger_body"), headers=None)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    case = client.get("/api/v1/cases/zendesk:5159", headers=manager_headers).get_json()
    [interaction] = case["interactions"]
    assert interaction["customer_sentiment"] == -0.8 and interaction["team"] == "Billing"
    assert interaction["agent_name"] == "Maria Lopez" and case["desk_ref"] == "5159"


@pytest.mark.parametrize("desk", [CASES["zendesk"]])
def test_a_zendesk_agent_reply_touches_the_case_and_an_internal_note_is_ignored(desk, client, post_desk, httpserver,
                                                                                manager_headers):
    _closed(client, desk, post_desk, httpserver, manager_headers)
    note = desk.payload("comment_by_requester")
    note["id"], note["event"]["comment"]["is_public"] = "note-1", False
    assert post_desk(note).get_json()["status"] == "ignored"
    reply = desk.payload("comment_by_requester")
    reply["id"], reply["event"]["comment"]["author"]["is_staff"] = "reply-1", True
    assert post_desk(reply).status_code == 202
    [checkin] = _case(client, desk, manager_headers)["checkins"]
    assert checkin["state"] == "cancelled"  # followup.postpone_on_case_update_minutes = 0: an agent touch cancels


@pytest.mark.parametrize("desk", [CASES["chatwoot"]])
def test_a_chatwoot_conversation_reopened_is_the_customer_coming_back(desk, client, post_desk, httpserver,
                                                                      manager_headers):
    _closed(client, desk, post_desk, httpserver, manager_headers)
    assert post_desk(desk.payload("conversation_reopened")).status_code == 202
    assert _case(client, desk, manager_headers)["checkins"][0]["state"] == "cancelled"


@pytest.mark.parametrize("desk", [CASES["intercom"]])
def test_an_intercom_admin_reply_touches_the_case(desk, client, post_desk, httpserver, manager_headers):
    _closed(client, desk, post_desk, httpserver, manager_headers)
    reply = desk.payload("user_replied")
    reply["topic"], reply["id"] = "conversation.admin.replied", "notif_admin_reply"
    assert post_desk(reply).status_code == 202
    assert _case(client, desk, manager_headers)["checkins"][0]["state"] == "cancelled"


@pytest.mark.parametrize("desk", [CASES["zammad"]])
def test_zammad_contact_details_it_cannot_use_are_noted_on_the_interaction(desk, client, post_desk, httpserver,
                                                                           manager_headers, rt):
    """The example's "0061 2 1234 7777" dials out of Australia's international prefix: it is +61…; a Zammad user
    has no time zone, so the default is used and the interaction says so."""
    from followup.models import Customer

    case = _closed(client, desk, post_desk, httpserver, manager_headers)
    [interaction] = case["interactions"]
    assert interaction["contact_notes"] == ["zammad has no time zone: connectors.default_timezone UTC used"]
    with rt.db.session() as session:
        assert session.get(Customer, "zammad:8").phone == "+61212347777"
    assert interaction["signals"] == ["abusive_language", "priority_high"] and interaction["team"] == "Service Desk"
    assert interaction["agent_name"] == "Emma Taylor"


def test_intercom_can_check_each_desk_url_with_a_head(client):
    """Intercom sends a HEAD before it saves a webhook URL; any other path stays unknown."""
    assert client.head("/webhooks/intercom").status_code == 200
    assert client.head("/webhooks/zendesk").status_code == 200
    assert client.head("/webhooks/nodesk").status_code in (404, 405)
