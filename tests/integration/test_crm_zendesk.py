"""`crm.adapter = "zendesk"` against a local fake Zendesk: ticket reopened with an internal note; retries; 404 dies."""
from __future__ import annotations

import base64

import pytest

from tests.support.reopen import STILL_BROKEN, deliver, only_delivery, reopen_via_reply

TICKET = "4321"
TICKET_PATH = f"/api/v2/tickets/{TICKET}.json"
AUTH = "Basic " + base64.b64encode(b"agent@acme.test/token:zd_api_token").decode()


@pytest.fixture
def overrides(overrides, httpserver):
    overrides["crm"]["adapter"] = "zendesk"
    overrides["zendesk"] = {"base_url": httpserver.url_for("/").rstrip("/"), "email": "agent@acme.test",
                            "api_token": "zd_api_token"}
    return overrides


@pytest.fixture
def reopen(client, post_event, rt, clock, manager_headers):
    def _reopen(case_id: str = TICKET) -> dict:
        return reopen_via_reply(client, post_event, rt, clock, manager_headers, **{"interaction.case_id": case_id})

    return _reopen


def test_reopen_sets_the_ticket_open_with_an_internal_note(reopen, rt, clock, httpserver):
    httpserver.expect_oneshot_request(TICKET_PATH, method="PUT", headers={"Authorization": AUTH}).respond_with_json(
        {"ticket": {"id": int(TICKET), "status": "open"}})
    outcome = reopen()
    assert deliver(rt, clock).done == 1
    httpserver.check_assertions()
    [(request, _response)] = httpserver.log
    assert request.headers["Content-Type"] == "application/json"
    ticket = request.get_json()["ticket"]
    assert ticket["status"] == "open" and ticket["comment"]["public"] is False
    note = ticket["comment"]["body"]
    assert f"> {STILL_BROKEN}" in note
    assert f"Verdict: reopen (confidence {outcome['verdict']['confidence']:.2f})" in note
    assert all(f"- {reason}" in note for reason in outcome["verdict"]["reasons"])
    assert "Routed to agent ag_1: preferred agent available" in note
    row = only_delivery(rt)
    assert (row.adapter, row.state, row.attempts) == ("zendesk", "delivered", 1)


def test_rate_limit_honours_retry_after_and_server_errors_retry(reopen, rt, clock, httpserver):
    httpserver.expect_ordered_request(TICKET_PATH, method="PUT").respond_with_json(
        {"error": "TooManyRequests"}, status=429, headers={"Retry-After": "600"})
    httpserver.expect_ordered_request(TICKET_PATH, method="PUT").respond_with_data("Bad Gateway", status=502)
    httpserver.expect_ordered_request(TICKET_PATH, method="PUT").respond_with_json({"ticket": {"id": int(TICKET)}})
    reopen()

    assert deliver(rt, clock).retried == 1
    row = only_delivery(rt)
    assert "429" in row.last_error and (row.next_attempt_at - clock.now).total_seconds() >= 600
    clock.now = row.next_attempt_at
    assert deliver(rt, clock).retried == 1
    row = only_delivery(rt)
    assert "502" in row.last_error and row.state == "pending"
    clock.now = row.next_attempt_at
    assert deliver(rt, clock).done == 1
    assert (only_delivery(rt).state, only_delivery(rt).attempts) == ("delivered", 3)
    httpserver.check_assertions()


def test_unknown_ticket_is_a_dead_letter_at_once_with_the_reason(reopen, rt, clock, httpserver, client,
                                                                 read_headers):
    httpserver.expect_request(TICKET_PATH, method="PUT").respond_with_json(
        {"error": "RecordNotFound", "description": "Not found"}, status=404)
    reopen()
    assert deliver(rt, clock).dead == 1
    row = only_delivery(rt)
    assert (row.state, row.attempts) == ("dead", 1)
    assert "404" in row.last_error and "RecordNotFound" in row.last_error
    [item] = client.get("/api/v1/crm/dead-letters", headers=read_headers).get_json()["items"]
    assert item["id"] == row.id and item["adapter"] == "zendesk"


def test_a_case_id_that_is_no_ticket_id_is_dead_without_a_call(reopen, rt, clock, httpserver):
    reopen(case_id="case_77")
    assert deliver(rt, clock).dead == 1
    assert "not a Zendesk ticket id" in only_delivery(rt).last_error
    assert httpserver.log == []
