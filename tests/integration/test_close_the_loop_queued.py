"""`problem.opened` / `problem.resolved` through the queued door (`crm.intake_mode = "queued"`): stored by the door,
acted on by the worker in arrival order (resolve waits behind its open), with the same result inline mode gives."""
from __future__ import annotations

import pytest

from intake.queue import apply_queued
from tests.integration.test_close_the_loop import ROUTINE
from tests.support.factories import interaction_event


@pytest.fixture
def overrides(overrides):
    overrides["crm"]["intake_mode"] = "queued"
    return overrides


def test_queued_problem_events_open_then_resolve_in_order(post_event, rt, client, read_headers):
    closed = post_event(interaction_event(**{"interaction.case_id": "c1", "customer.id": "cus_1",
                                             "interaction.started_at": None,
                                             "interaction.ended_at": "2026-11-25T11:00:00Z", **ROUTINE}))
    assert closed.status_code == 202, closed.get_json()
    opened = post_event({"event_id": "evt_p1", "type": "problem.opened", "occurred_at": "2026-11-25T14:05:00Z",
                         "problem": {"id": "INC-7", "title": "Gateway double charge", "category": "double_charge",
                                     "from": "2026-11-20T00:00:00Z"}})
    resolved = post_event({"event_id": "evt_p2", "type": "problem.resolved", "occurred_at": "2026-11-25T14:06:00Z",
                           "problem": {"id": "INC-7", "message": "Refunded."}})
    assert opened.status_code == resolved.status_code == 202
    assert opened.get_json()["status"] == "queued"
    assert client.get("/api/v1/problems/INC-7", headers=read_headers).status_code == 404  # nothing acted on yet
    report = apply_queued(rt.db, ctx=rt.followup, clock=rt.clock)
    assert (report.processed, report.failed) == (3, 0)  # the resolve waited behind its open: it found the case
    seen = client.get("/api/v1/crm/events/evt_p2", headers=read_headers).get_json()
    assert seen["state"] == "processed" and seen["response"]["problem"]["pending"] == 1
    detail = client.get("/api/v1/problems/INC-7", headers=read_headers).get_json()
    assert detail["state"] == "resolved" and detail["message"] == "Refunded." and detail["affected"] == 1


@pytest.mark.parametrize("apply", ["batched", "per_event"])
def test_interactions_acted_on_after_a_problem_opened_join_it_in_either_worker_mode(apply, post_event, rt, client,
                                                                                    read_headers):
    """The batched worker writes interactions with set-based statements; they still join an open problem."""
    opened = post_event({"event_id": "evt_p1", "type": "problem.opened", "occurred_at": "2026-11-25T10:00:00Z",
                         "problem": {"id": "INC-8", "title": "Gateway double charge", "category": "double_charge",
                                     "from": "2026-11-20T00:00:00Z"}})
    assert opened.status_code == 202
    assert apply_queued(rt.db, ctx=rt.followup, clock=rt.clock).processed == 1
    for n in (1, 2, 3):
        closed = post_event(interaction_event(**{"event_id": f"evt_c{n}", "interaction.id": f"int_{n}",
                                                 "interaction.case_id": f"c{n}", "customer.id": f"cus_{n}",
                                                 "interaction.started_at": None,
                                                 "interaction.ended_at": "2026-11-25T11:00:00Z", **ROUTINE}))
        assert closed.status_code == 202, closed.get_json()
    other = post_event(interaction_event(**{"event_id": "evt_c9", "interaction.id": "int_9", "interaction.case_id": "c9",
                                            "customer.id": "cus_9", "interaction.category": "login",
                                            "interaction.started_at": None,
                                            "interaction.ended_at": "2026-11-25T11:00:00Z"}))
    assert other.status_code == 202
    report = apply_queued(rt.db, ctx=rt.followup, clock=rt.clock, apply=apply)
    assert (report.processed, report.failed) == (4, 0)
    seen = client.get("/api/v1/crm/events/evt_c2", headers=read_headers).get_json()
    assert seen["response"]["problems"] == ["INC-8"]
    assert "problems" not in client.get("/api/v1/crm/events/evt_c9", headers=read_headers).get_json()["response"]
    assert client.get("/api/v1/problems/INC-8", headers=read_headers).get_json()["affected"] == 3
