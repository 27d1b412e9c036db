"""A native help-desk connector passes the closing agent's root cause as a desk tag (`connectors.root_cause_tag_prefix`)."""
from __future__ import annotations

import pytest

from followup.models import Case
from tests.support.desks import CASES, body_of, serve_lookups

DESK = CASES["zendesk"]


@pytest.fixture
def overrides(overrides, httpserver):
    overrides.update(DESK.settings(httpserver.url_for("/").rstrip("/")))
    return overrides


@pytest.mark.parametrize("tags, cause", [(["billing", "root_cause_billing_bug"], "billing_bug"),
                                         (["root_cause_cache_not_flushed"], "cache_not_flushed"),
                                         (["billing"], None)])
def test_a_root_cause_tag_on_the_solved_ticket_lands_on_the_case(tags, cause, httpserver, client, clock, rt):
    serve_lookups(httpserver, DESK)
    payload = DESK.payload()
    payload["detail"]["tags"] = tags
    body = body_of(payload)
    resp = client.post("/webhooks/zendesk", data=body, headers=DESK.headers(body, clock.now))
    assert resp.status_code == 202, resp.get_data(as_text=True)
    with rt.db.session() as session:
        assert session.get(Case, "zendesk:5158").root_cause == cause


def test_a_zendesk_trigger_body_carries_the_root_cause_as_a_custom_field(httpserver, client, clock, rt):
    from tests.support.desks import fixture

    serve_lookups(httpserver, DESK)  # the requester's time zone is asked of the API
    payload = fixture("zendesk", "trigger_body")
    payload["ticket"]["root_cause"] = "Billing system bug"
    body = body_of(payload)
    resp = client.post("/webhooks/zendesk", data=body, headers=DESK.headers(body, clock.now))
    assert resp.status_code == 202, resp.get_data(as_text=True)
    with rt.db.session() as session:
        assert session.get(Case, "zendesk:5159").root_cause == "billing_bug"
