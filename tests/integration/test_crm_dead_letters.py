"""Bad input on the dead-letter endpoints: a clear problem+json, and nothing stored changes."""
from __future__ import annotations

import pytest

from tests.support.factories import make_key
from tests.support.problems import assert_problem
from tests.support.reopen import deliver, only_delivery, reopen_via_reply, snapshot

PATH = "/crm/reopened"


@pytest.fixture
def overrides(overrides, httpserver):
    overrides["crm"].update(adapter="webhook", webhook_url=httpserver.url_for(PATH),
                            webhook_signing_secret="whsec_outbound_test", max_attempts=1)
    return overrides


@pytest.fixture
def dead(client, post_event, rt, clock, manager_headers, httpserver) -> str:
    httpserver.expect_request(PATH, method="POST").respond_with_data("down", status=500)
    reopen_via_reply(client, post_event, rt, clock, manager_headers)
    assert deliver(rt, clock).dead == 1
    return only_delivery(rt).id


@pytest.fixture
def agent_headers(app):
    return {"Authorization": f"Bearer {make_key(app, 'agent')}"}


def test_unknown_id_is_404(dead, client, rt, manager_headers):
    before = snapshot(rt)
    assert "crm_nope" in assert_problem(client.post("/api/v1/crm/dead-letters/crm_nope/retry",
                                                    headers=manager_headers), 404)["detail"]
    assert snapshot(rt) == before


def test_retry_needs_manager_scope(dead, client, rt, read_headers, agent_headers):
    before = snapshot(rt)
    for headers in (read_headers, agent_headers):
        assert_problem(client.post(f"/api/v1/crm/dead-letters/{dead}/retry", headers=headers), 403)
    assert_problem(client.post(f"/api/v1/crm/dead-letters/{dead}/retry"), 401)
    assert snapshot(rt) == before


def test_listing_needs_read_or_manager_scope(dead, client, rt, agent_headers):
    before = snapshot(rt)
    assert_problem(client.get("/api/v1/crm/dead-letters", headers=agent_headers), 403)
    assert_problem(client.get("/api/v1/crm/dead-letters"), 401)
    assert snapshot(rt) == before


def test_bad_limit_names_the_field(dead, client, rt, read_headers):
    before = snapshot(rt)
    assert_problem(client.get("/api/v1/crm/dead-letters?limit=0", headers=read_headers), 422, "limit")
    assert snapshot(rt) == before


def test_retrying_what_is_not_dead_is_409(dead, client, rt, clock, httpserver, manager_headers):
    assert client.post(f"/api/v1/crm/dead-letters/{dead}/retry", headers=manager_headers).status_code == 202
    pending = snapshot(rt)
    body = assert_problem(client.post(f"/api/v1/crm/dead-letters/{dead}/retry", headers=manager_headers), 409)
    assert "pending" in body["detail"]
    assert snapshot(rt) == pending

    httpserver.clear()
    httpserver.expect_request(PATH, method="POST").respond_with_json({"ok": True})
    assert deliver(rt, clock).done == 1
    delivered = snapshot(rt)
    assert "delivered" in assert_problem(client.post(f"/api/v1/crm/dead-letters/{dead}/retry",
                                                     headers=manager_headers), 409)["detail"]
    assert snapshot(rt) == delivered


def test_dead_letters_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/crm/dead-letters"]
    assert "post" in paths["/api/v1/crm/dead-letters/{delivery_id}/retry"]
