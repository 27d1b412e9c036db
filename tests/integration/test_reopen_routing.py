"""Reopen to people: the same agent when they can take it, else their team (with the reason); human callbacks."""
from __future__ import annotations

from prometheus_client import REGISTRY

from followup.models import CheckIn
from tests.support.factories import interaction_event
from tests.support.reopen import deliver, only_delivery, reopen_via_reply, reply, sent_checkin
from wellbeing.models import Agent


def case_items(client, headers, case_id: str = "case_77", kind: str = "case") -> list[dict]:
    items = client.get("/api/v1/routing/queue", headers=headers).get_json()["items"]
    return [i for i in items if i["case_id"] == case_id and i["kind"] == kind]


def test_reopen_goes_to_the_same_agent_when_available(client, post_event, rt, clock, manager_headers):
    outcome = reopen_via_reply(client, post_event, rt, clock, manager_headers)
    assert outcome["action"] == "reopened to agent ag_1 (preferred agent available)"
    [item] = case_items(client, manager_headers)
    assert item["preferred_agent_id"] == "ag_1" and item["routing_reason"] == "preferred agent available"
    assert item["priority"] >= 90 and item["details"]["reply"] == "thanks, but it's still broken"


def test_overloaded_agent_routes_to_the_team_with_the_reason(client, post_event, rt, clock, manager_headers):
    checkin_id = sent_checkin(client, post_event, rt, clock, manager_headers)
    for n in range(2):
        rough = interaction_event(**{"interaction.case_id": f"case_rough_{n}", "customer.id": f"cus_rough_{n}",
                                     "interaction.signals": ["abusive_language"],
                                     "interaction.customer_sentiment": -0.9, "interaction.resolution": "unresolved"})
        load = post_event(rough).get_json()["agent_load"]
    assert load["load"] >= load["threshold"]

    outcome = reply(client, checkin_id, manager_headers)
    assert outcome["action"].startswith("reopened to team billing-emea (agent ag_1 is over their load threshold")
    [item] = case_items(client, manager_headers)
    assert item["preferred_agent_id"] is None and item["team"] == "billing-emea"
    assert "over their load threshold" in item["routing_reason"]
    assert item["routing_reason"].endswith("routed to team billing-emea")
    case = client.get("/api/v1/cases/case_77", headers=manager_headers).get_json()
    assert case["state"] == "reopened" and case["replies"][0]["action"] == outcome["action"]
    assert only_delivery(rt).payload["routed_to"] == {"agent_id": None, "team": "billing-emea",
                                                      "reason": item["routing_reason"]}


def test_agent_on_a_break_routes_to_the_team(client, post_event, rt, clock, manager_headers):
    checkin_id = sent_checkin(client, post_event, rt, clock, manager_headers)
    with rt.db.session() as session:
        session.get(Agent, "ag_1").state = "on_break"
        session.commit()
    outcome = reply(client, checkin_id, manager_headers)
    assert "agent ag_1 is on break: routed to team billing-emea" in outcome["action"]
    [item] = case_items(client, manager_headers)
    assert item["preferred_agent_id"] is None and "on break" in item["routing_reason"]


def test_reopen_latency_is_observed(client, post_event, rt, clock, manager_headers):
    before = REGISTRY.get_sample_value("reopen_latency_seconds_count") or 0
    reopen_via_reply(client, post_event, rt, clock, manager_headers)
    assert REGISTRY.get_sample_value("reopen_latency_seconds_count") == before + 1


def test_builtin_crm_records_the_notice_and_marks_it_delivered(client, post_event, rt, clock, manager_headers):
    reopen_via_reply(client, post_event, rt, clock, manager_headers)
    row = only_delivery(rt)
    assert (row.adapter, row.state, row.payload["case_id"]) == ("builtin", "pending", "case_77")
    assert deliver(rt, clock).done == 1
    assert only_delivery(rt).state == "delivered"


def test_human_callback_creates_a_human_task_for_the_agent(client, post_event, rt, read_headers):
    event = interaction_event(**{"interaction.signals": ["vulnerable_customer"]})
    body = post_event(event).get_json()
    assert body["triage"]["decision"] == "human_callback" and body["checkin"] is None
    [task] = case_items(client, read_headers, kind="human_task")
    assert task["preferred_agent_id"] == "ag_1" and task["team"] == "billing-emea"
    assert task["title"].startswith("Call back Sam Carter: ")
    assert task["details"]["interaction_id"] == event["interaction"]["id"]
    assert task["details"]["reasons"] == body["triage"]["reasons"]
    assert any(r.startswith(f"human task {task['id']}") for r in body["schedule_reasons"])
    with rt.db.session() as session:
        assert session.query(CheckIn).count() == 0


def test_the_scheduler_tick_delivers_notices_and_processes_commitments(app, client, post_event, rt, clock,
                                                                        manager_headers):
    from aftercare.scheduler import tick

    commitment = {"text": "I will call you back at 3 pm", "due_at": "2026-11-25T15:00:00Z"}
    reopen_via_reply(client, post_event, rt, clock, manager_headers, **{"interaction.commitment": commitment})
    clock.advance(minutes=30)
    tick(app, "test-worker")
    assert only_delivery(rt).state == "delivered"
    assert [i["title"] for i in case_items(client, manager_headers, kind="commitment_reminder")] == [
        "Reminder: you promised “I will call you back at 3 pm” — due 15:00 UTC on 25 Nov"]


def test_negative_reply_weighs_on_the_agent_who_handled_the_case(post_event, client, manager_headers, rt, clock):
    from followup.dispatch import dispatch_due
    from tests.support.factories import interaction_event

    body = post_event(interaction_event()).get_json()
    before = body["agent_load"]["load"]
    checkin_id = body["checkin"]["id"]
    client.post(f"/api/v1/checkins/{checkin_id}/send-now", headers=manager_headers)
    dispatch_due(rt.db, rt.services["channels"], now=clock.now, worker="t")
    client.post(f"/api/v1/checkins/{checkin_id}/simulate-reply", json={"text": "thanks for nothing, still broken"},
                headers=manager_headers)
    load = client.get("/api/v1/agents/ag_1/load", headers=manager_headers).get_json()
    assert load["load"] > before and load["parts"].get("negative_reply", 0) > 0
