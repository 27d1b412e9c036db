"""`crm.adapter = "webhook"` against a local receiving CRM: signed POSTs, retries with backoff, dead letters."""
from __future__ import annotations

import json

import pytest

from aftercare.core.signing import verify
from followup.crm import CrmDeliveryError, ReopenNotice, WebhookCrm
from tests.support.reopen import STILL_BROKEN, deliver, deliveries, only_delivery, reopen_via_reply

SIGNING_SECRET = "whsec_outbound_test"
PATH = "/crm/reopened"


@pytest.fixture
def overrides(overrides, httpserver):
    overrides["crm"].update(adapter="webhook", webhook_url=httpserver.url_for(PATH),
                            webhook_signing_secret=SIGNING_SECRET)
    return overrides


@pytest.fixture
def reopen(client, post_event, rt, clock, manager_headers):
    return lambda: reopen_via_reply(client, post_event, rt, clock, manager_headers)


def signed_payload(request) -> dict:
    body = request.get_data()
    verify(request.headers.get("Aftercare-Signature"), body, [SIGNING_SECRET])
    return json.loads(body)


def test_reopen_is_posted_signed_after_the_reply_commits(reopen, rt, clock, httpserver):
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_json({"ok": True})
    reopen()
    assert httpserver.log == [], "the CRM must not be called inside the reply's transaction"
    row = only_delivery(rt)
    assert (row.adapter, row.state, row.attempts) == ("webhook", "pending", 0)

    report = deliver(rt, clock)
    assert (report.claimed, report.done) == (1, 1)
    [(request, _response)] = httpserver.log
    payload = signed_payload(request)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Aftercare-Delivery"] == row.id == payload["delivery_id"]
    assert payload == row.payload
    assert payload["type"] == "case.reopened" and payload["case_id"] == "case_77"
    assert payload["reply"]["text"] == STILL_BROKEN
    assert payload["verdict"]["intent"] == "reopen" and payload["verdict"]["reasons"]
    assert 0 < payload["verdict"]["confidence"] <= 1
    assert payload["routed_to"] == {"agent_id": "ag_1", "team": "billing-emea", "reason": "preferred agent available"}
    assert payload["reopened_at"] == "2026-11-25T14:10:00Z"
    row = only_delivery(rt)
    assert (row.state, row.attempts, row.delivered_at) == ("delivered", 1, clock.now)
    assert deliver(rt, clock).claimed == 0
    httpserver.check_assertions()


def test_server_errors_are_retried_with_backoff_until_delivered(reopen, rt, clock, httpserver):
    for _ in range(2):
        httpserver.expect_ordered_request(PATH, method="POST").respond_with_data("upstream down", status=500)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json({"ok": True})
    reopen()

    waits = []
    for attempt in (1, 2):
        assert deliver(rt, clock).retried == 1
        row = only_delivery(rt)
        assert (row.state, row.attempts) == ("pending", attempt)
        assert "500" in row.last_error and "upstream down" in row.last_error
        waits.append((row.next_attempt_at - clock.now).total_seconds())
        clock.advance(seconds=1)
        assert deliver(rt, clock).claimed == 0, "not due before its backoff"
        clock.now = row.next_attempt_at
    assert 15 <= waits[0] <= 30 and 30 <= waits[1] <= 60

    assert deliver(rt, clock).done == 1
    row = only_delivery(rt)
    assert (row.state, row.attempts) == ("delivered", 3)
    assert len(httpserver.log) == 3
    assert {signed_payload(request)["delivery_id"] for request, _ in httpserver.log} == {row.id}


def test_dead_letter_after_max_attempts_then_a_manager_retry_delivers(reopen, rt, clock, httpserver, client,
                                                                      read_headers, manager_headers):
    httpserver.expect_request(PATH, method="POST").respond_with_data("nope", status=503)
    reopen()
    max_attempts = rt.settings.crm.max_attempts
    for _ in range(max_attempts):
        deliver(rt, clock)
        clock.now = max(clock.now, only_delivery(rt).next_attempt_at)
    row = only_delivery(rt)
    assert (row.state, row.attempts) == ("dead", max_attempts)
    assert "503" in row.last_error and f"after {max_attempts} attempts" in row.last_error
    assert len(httpserver.log) == max_attempts
    clock.advance(days=1)
    assert deliver(rt, clock).claimed == 0, "a dead letter is not retried by itself"

    listed = client.get("/api/v1/crm/dead-letters", headers=read_headers)
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    assert item["id"] == row.id and item["case_id"] == "case_77" and item["state"] == "dead"
    assert item["last_error"] == row.last_error and item["payload"]["reply"]["text"] == STILL_BROKEN

    retried = client.post(f"/api/v1/crm/dead-letters/{row.id}/retry", headers=manager_headers)
    assert retried.status_code == 202, retried.get_json()
    assert retried.get_json()["state"] == "pending" and retried.get_json()["attempts"] == 0
    row = only_delivery(rt)
    assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 0, clock.now)

    httpserver.clear()
    httpserver.expect_request(PATH, method="POST").respond_with_json({"ok": True})
    assert deliver(rt, clock).done == 1
    assert only_delivery(rt).state == "delivered"
    assert client.get("/api/v1/crm/dead-letters", headers=read_headers).get_json()["items"] == []


def test_a_rejected_notice_is_dead_at_once(reopen, rt, clock, httpserver):
    httpserver.expect_request(PATH, method="POST").respond_with_data("unknown signature", status=401)
    reopen()
    assert deliver(rt, clock).dead == 1
    row = only_delivery(rt)
    assert (row.state, row.attempts) == ("dead", 1) and "401" in row.last_error


def test_an_unreachable_crm_is_a_retryable_failure(clock):
    crm = WebhookCrm(url="http://127.0.0.1:9/closed", secret=SIGNING_SECRET, timeout=2)
    notice = ReopenNotice(case_id="case_1", reply_text="no", intent="reopen", confidence=0.9, reasons=("no",),
                          routed_agent_id=None, routed_team="t", routing_reason="r", reopened_at=clock.now)
    with pytest.raises(CrmDeliveryError) as failure:
        crm.case_reopened(notice)
    assert not failure.value.permanent and "unreachable" in failure.value.reason


def test_a_crm_outage_never_blocks_or_loses_a_reopen(reopen, rt, clock, client, manager_headers):
    """The CRM answers nothing useful: the case is still reopened and queued, and the notice waits in the outbox."""
    outcome = reopen()
    assert outcome["action"].startswith("reopened to agent ag_1")
    assert client.get("/api/v1/cases/case_77", headers=manager_headers).get_json()["state"] == "reopened"
    clock.advance(minutes=5)
    deliver(rt, clock)
    [row] = deliveries(rt)
    assert row.state == "pending" and row.attempts == 1 and row.next_attempt_at > clock.now


def test_webhook_adapter_needs_its_url_and_secret(overrides):
    from aftercare.app import create_app

    overrides["crm"]["webhook_url"] = ""
    with pytest.raises(ValueError, match="webhook_url"):
        create_app(overrides)
