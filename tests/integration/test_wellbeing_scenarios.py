"""Wellbeing as an agent and a workforce manager live it: through HTTP and the tick, on the real database."""
from __future__ import annotations

from datetime import timedelta

from tests.support.wellbeing import ABUSIVE, CALM, ROUGH, TEAM, event_for, publish, sign_in, tick

NO_SERVICE_LEVEL = {"rules": [{"name": "after abuse", "when": {"signals_any": ["abusive_language"]},
                               "then": {"break_minutes": 5, "start": "after_current"}}],
                    "guards": {"max_team_fraction_on_break": 0.2, "service_level": None}}


def decisions(client, headers, agent: str) -> list[dict]:
    """Oldest first."""
    return client.get(f"/api/v1/agents/{agent}/breaks", headers=headers).get_json()["decisions"][::-1]


def take_break(client, headers, agent: str) -> dict:
    """The agent finishes their interaction, then asks what is next: the break."""
    assert client.put(f"/api/v1/agents/{agent}/state", json={"state": "wrap_up"}, headers=headers).status_code == 200
    nxt = client.get(f"/api/v1/agents/{agent}/next", headers=headers).get_json()
    assert nxt["kind"] == "break", nxt
    return nxt["break"]


def test_abusive_interaction_gives_a_five_minute_break_after_the_current_one(post_event, client, rt, clock,
                                                                             agent_headers, read_headers):
    sign_in(post_event, clock, 6)
    body = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()
    decision = body["agent_load"]["break"]
    assert (decision["outcome"], decision["minutes"], decision["start"]) == ("granted", 5, "after_current")
    assert decision["reasons"] == ["rule 'after abuse': signals abusive_language",
                                   "granted: 5 min break after the current interaction"]

    # Still on the interaction: the break waits until the agent says they finished it.
    assert client.get("/api/v1/agents/ag_1/next", headers=agent_headers).get_json()["kind"] != "break"
    clock.advance(minutes=3)
    brk = take_break(client, agent_headers, "ag_1")
    assert brk["minutes"] == 5 and brk["state"] == "on_break"
    assert brk["started_at"] == clock.now.isoformat()
    assert brk["ends_at"] == (clock.now + timedelta(minutes=5)).isoformat()
    team = client.get(f"/api/v1/teams/{TEAM}/load", headers=read_headers).get_json()["agents"]
    [me] = [a for a in team if a["agent_id"] == "ag_1"]
    assert me["state"] == "on_break" and me["on_break_until"] == brk["ends_at"]

    clock.advance(minutes=5)
    assert tick(rt, clock).ended == 1
    [ended] = client.get("/api/v1/agents/ag_1/breaks", headers=agent_headers).get_json()["breaks"]
    assert ended["state"] == "ended" and ended["end_reason"] == "time is up"
    assert ended["ended_at"] == brk["ends_at"]
    nxt = client.get("/api/v1/agents/ag_1/next", headers=agent_headers).get_json()
    assert nxt["kind"] != "break"


def test_three_rough_interactions_in_a_row_give_the_configured_break(post_event, client, clock, manager_headers,
                                                                     agent_headers):
    publish(client, manager_headers, {"rules": [
        {"name": "three rough in a row", "when": {"consecutive_negative_at_least": 3},
         "then": {"break_minutes": 8, "start": "now"}}]})
    sign_in(post_event, clock, 6)
    outcomes = []
    for _ in range(3):
        clock.advance(minutes=6)
        outcomes.append(post_event(event_for(clock, "ag_1", **ROUGH)).get_json()["agent_load"])
    assert [o["consecutive_negative"] for o in outcomes] == [1, 2, 3]
    assert [o["break"] for o in outcomes[:2]] == [None, None]
    decision = outcomes[2]["break"]
    assert decision["outcome"] == "granted" and decision["minutes"] == 8 and decision["start"] == "now"
    assert decision["rule_set_version"] == 1
    assert decision["reasons"][0] == "rule 'three rough in a row': 3 negative interactions in a row (≥ 3)"
    nxt = client.get("/api/v1/agents/ag_1/next", headers=agent_headers).get_json()
    assert nxt["kind"] == "break" and nxt["break"]["minutes"] == 8


def test_concurrency_cap_starts_one_break_now_and_grants_the_others_in_turn(post_event, client, rt, clock,
                                                                           manager_headers, agent_headers):
    publish(client, manager_headers, NO_SERVICE_LEVEL)
    sign_in(post_event, clock, 5)
    first = [post_event(event_for(clock, f"ag_{n}", **ABUSIVE)).get_json()["agent_load"]["break"] for n in (1, 2, 3)]
    assert [d["outcome"] for d in first] == ["granted", "deferred", "deferred"]
    assert "deferred: team concurrency cap: 1 of 1 allowed already on break" in first[1]["reasons"]
    assert first[1]["retry_at"] == (clock.now + timedelta(minutes=1)).isoformat()

    started = {"ag_1": take_break(client, agent_headers, "ag_1")["started_at"]}
    for minute in range(1, 16):
        clock.advance(minutes=1)
        tick(rt, clock)
        for agent in ("ag_2", "ag_3"):
            if agent not in started and decisions(client, agent_headers, agent)[-1]["outcome"] == "granted":
                started[agent] = take_break(client, agent_headers, agent)["started_at"]
    t0 = clock.now - timedelta(minutes=15)
    assert started == {"ag_1": t0.isoformat(), "ag_2": (t0 + timedelta(minutes=5)).isoformat(),
                       "ag_3": (t0 + timedelta(minutes=10)).isoformat()}
    for agent in ("ag_2", "ag_3"):
        outcomes = [d["outcome"] for d in decisions(client, agent_headers, agent)]
        assert outcomes == ["deferred", "granted"], outcomes
    items = client.get("/api/v1/routing/queue?state=queued", headers=manager_headers).get_json()["items"]
    assert not [i for i in items if i["kind"] == "escalation"]


def test_tight_service_level_defers_then_escalates_after_max_deferral(post_event, client, rt, clock,
                                                                     manager_headers, agent_headers):
    publish(client, manager_headers, {"rules": NO_SERVICE_LEVEL["rules"], "guards": {
        "service_level": {"target": 0.8, "answer_within_seconds": 20}, "max_deferral_minutes": 20,
        "escalate_to": "team_lead"}})
    post_event(event_for(clock, "ag_2", **CALM))
    post_event(event_for(clock, "ag_3", **CALM))
    decision = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]["break"]
    assert decision["outcome"] == "deferred"
    assert any(r.startswith("deferred: service level: predicted 69% within 20 s with 2 agents answering")
               for r in decision["reasons"]), decision["reasons"]

    for minute in range(1, 21):
        clock.advance(minutes=1)
        if minute % 5 == 0:
            post_event(event_for(clock, "ag_2" if minute % 10 else "ag_3", **CALM))
        tick(rt, clock)
        if minute < 20:
            assert decisions(client, agent_headers, "ag_1")[-1]["outcome"] == "deferred", minute
    log = decisions(client, agent_headers, "ag_1")
    assert log[0]["outcome"] == "deferred" and log[-1]["outcome"] == "escalated"
    assert {d["outcome"] for d in log[1:-1]} <= {"deferred"}
    assert log[-1]["escalate_to"] == "team_lead"
    assert log[-1]["reasons"][-1] == "deferred 20 min (max 20): granted anyway, escalated to team_lead"
    items = client.get("/api/v1/routing/queue", headers=manager_headers).get_json()["items"]
    [escalation] = [i for i in items if i["kind"] == "escalation"]
    assert escalation["team"] == TEAM and escalation["details"]["escalate_to"] == "team_lead"
    assert escalation["details"]["agent_id"] == "ag_1"
    assert take_break(client, agent_headers, "ag_1")["minutes"] == 5
