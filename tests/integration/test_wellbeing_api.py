"""Load, agent state, the next item and breaks over HTTP; bad input is a problem naming the field and changes
nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

import wellbeing.services as wellbeing
from tests.support.factories import make_key
from tests.support.problems import assert_problem, row_counts
from tests.support.wellbeing import ABUSIVE, CALM, TEAM, event_for, publish, sign_in, status_event, tick


def test_agent_load_has_parts_and_a_24h_series(post_event, client, clock, read_headers):
    added = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]
    assert added["parts"]["abusive_language"] == 1.0 and added["load"] == added["added"]
    clock.advance(minutes=60)
    got = client.get("/api/v1/agents/ag_1/load", headers=read_headers).get_json()
    assert got["load"] == pytest.approx(added["load"] / 2, abs=1e-3)
    assert got["parts"] == added["parts"] and got["threshold"] == 2.5 and got["over_threshold"] is False
    assert len(got["series"]) == 97 and got["series"][-1]["at"] == clock.now.isoformat()
    assert got["series"][-1]["load"] == got["load"]
    assert got["series"][-5]["load"] == pytest.approx(added["load"], abs=1e-3)
    assert all(point["load"] == 0 for point in got["series"][:-5])


def test_load_decays_faster_on_a_break(post_event, client, clock, read_headers, agent_headers):
    sign_in(post_event, clock, 6)
    added = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]["load"]
    client.put("/api/v1/agents/ag_1/state", json={"state": "wrap_up"}, headers=agent_headers)
    assert client.get("/api/v1/agents/ag_1/next", headers=agent_headers).get_json()["kind"] == "break"
    clock.advance(minutes=15)
    got = client.get("/api/v1/agents/ag_1/load", headers=read_headers).get_json()
    assert got["load"] == pytest.approx(added / 2, abs=1e-3)


def test_team_load_flags_agents_over_their_threshold(post_event, client, clock, read_headers):
    for _ in range(2):
        post_event(event_for(clock, "ag_1", **ABUSIVE))
    post_event(event_for(clock, "ag_2", **CALM))
    post_event(event_for(clock, "ag_9", team="other", **CALM))
    got = client.get(f"/api/v1/teams/{TEAM}/load", headers=read_headers).get_json()
    assert [a["agent_id"] for a in got["agents"]] == ["ag_1", "ag_2"]
    assert got["agents"][0]["over_threshold"] is True and got["agents"][1]["over_threshold"] is False
    assert got["agents"][0]["on_break_until"] is None


def test_unknown_agent_is_404(client, read_headers, agent_headers, rt):
    before = row_counts(rt)
    assert_problem(client.get("/api/v1/agents/ag_nobody/load", headers=read_headers), 404)
    assert_problem(client.get("/api/v1/agents/ag_nobody/next", headers=agent_headers), 404)
    assert row_counts(rt) == before


def test_scopes(app, client, rt, read_headers):
    crm = {"Authorization": f"Bearer {make_key(app, 'crm')}"}
    before = row_counts(rt)
    assert_problem(client.get("/api/v1/agents/ag_1/load", headers=crm), 403)
    assert_problem(client.put("/api/v1/agents/ag_1/state", json={"state": "busy"}, headers=read_headers), 403)
    assert_problem(client.get("/api/v1/agents/ag_1/next", headers=read_headers), 403)
    assert_problem(client.post("/api/v1/agents/ag_1/breaks/brk_x/end", headers=read_headers), 403)
    assert_problem(client.get(f"/api/v1/teams/{TEAM}/load"), 401)
    assert row_counts(rt) == before


@pytest.mark.parametrize("payload,field", [
    ({"state": "napping"}, "state"), ({}, "state"), ({"state": 3}, "state"),
    ({"state": "busy", "mood": "ok"}, "mood"), ({"state": "busy", "team": ""}, "team"),
])
def test_bad_state_reports_name_the_field_and_change_nothing(client, rt, agent_headers, payload, field):
    before = row_counts(rt)
    assert_problem(client.put("/api/v1/agents/ag_1/state", json=payload, headers=agent_headers), 422, field)
    assert row_counts(rt) == before


@pytest.mark.parametrize("change,field", [
    ({"status": "napping"}, "status"), ({"status": None}, "status"), ({"agent": {"team": TEAM}}, "agent.id"),
    ({"agent": None}, "agent"),
])
def test_bad_agent_status_events_name_the_field_and_change_nothing(post_event, clock, rt, change, field):
    post_event(event_for(clock, "ag_1", **CALM))
    before = row_counts(rt)
    assert_problem(post_event({**status_event(clock, "ag_1", "busy"), **change}), 422, field)
    assert row_counts(rt) == before


def test_agent_status_events_out_of_order_cannot_undo_a_newer_state(post_event, clock, client, read_headers):
    assert post_event(status_event(clock, "ag_1", "busy")).get_json()["agent"]["state"] == "busy"
    older = post_event(status_event(clock, "ag_1", "available", at=clock.now - timedelta(minutes=2))).get_json()
    assert older["agent"]["state"] == "busy" and older["agent"]["ignored"]
    [me] = client.get(f"/api/v1/teams/{TEAM}/load", headers=read_headers).get_json()["agents"]
    assert me["state"] == "busy"


def test_next_gives_work_the_agent_may_take_highest_priority_first(rt, client, clock, agent_headers, read_headers,
                                                                   post_event):
    sign_in(post_event, clock, 2)
    with rt.db.session() as session:
        wellbeing.enqueue_case_item(session, case_id="c_low", kind="human_task", title="low", team=TEAM,
                                    preferred_agent_id=None, now=clock.now, priority=40)
        wellbeing.enqueue_case_item(session, case_id="c_other", kind="case", title="other team", team="other",
                                    preferred_agent_id=None, now=clock.now)
        wellbeing.enqueue_case_item(session, case_id="c_ag2", kind="case", title="for ag_2", team=TEAM,
                                    preferred_agent_id="ag_2", now=clock.now)
        wellbeing.enqueue_case_item(session, case_id=None, kind="escalation", title="lead", team=TEAM,
                                    preferred_agent_id=None, now=clock.now, priority=95)
        wellbeing.enqueue_case_item(session, case_id="c_mine", kind="case", title="mine", team=TEAM,
                                    preferred_agent_id="ag_1", now=clock.now)
        session.commit()
    titles = []
    for _ in range(3):
        nxt = client.get("/api/v1/agents/ag_1/next", headers=agent_headers).get_json()
        titles.append(nxt["item"]["title"] if nxt["item"] else nxt["kind"])
    assert titles == ["mine", "low", "none"]
    with rt.db.session() as session:
        assert wellbeing.queue_items(session, state="assigned")[0]["assigned_agent_id"] == "ag_1"
    states = {a["agent_id"]: a["state"] for a in
              client.get(f"/api/v1/teams/{TEAM}/load", headers=read_headers).get_json()["agents"]}
    assert states["ag_1"] == "busy"


def test_ending_a_break_early(post_event, client, clock, rt, agent_headers):
    sign_in(post_event, clock, 6)
    post_event(event_for(clock, "ag_1", **ABUSIVE))
    [due] = client.get("/api/v1/agents/ag_1/breaks", headers=agent_headers).get_json()["breaks"]
    before = row_counts(rt)
    assert_problem(client.post(f"/api/v1/agents/ag_1/breaks/{due['id']}/end", headers=agent_headers), 409)
    assert_problem(client.post(f"/api/v1/agents/ag_2/breaks/{due['id']}/end", headers=agent_headers), 404)
    assert_problem(client.post("/api/v1/agents/ag_1/breaks/brk_nope/end", headers=agent_headers), 404)
    assert row_counts(rt) == before
    client.put("/api/v1/agents/ag_1/state", json={"state": "available"}, headers=agent_headers)
    client.get("/api/v1/agents/ag_1/next", headers=agent_headers)
    clock.advance(minutes=2)
    ended = client.post(f"/api/v1/agents/ag_1/breaks/{due['id']}/end", headers=agent_headers)
    assert ended.status_code == 200 and ended.get_json()["state"] == "ended"
    assert ended.get_json()["end_reason"] == "ended by the agent"
    assert_problem(client.post(f"/api/v1/agents/ag_1/breaks/{due['id']}/end", headers=agent_headers), 409)
    assert tick(rt, clock).ended == 0


def test_going_offline_cancels_a_break_not_yet_started(post_event, client, clock, agent_headers):
    sign_in(post_event, clock, 6)
    post_event(event_for(clock, "ag_1", **ABUSIVE))
    reply = client.put("/api/v1/agents/ag_1/state", json={"state": "offline"}, headers=agent_headers).get_json()
    assert reply["state"] == "offline" and reply["break"] is None
    [brk] = client.get("/api/v1/agents/ag_1/breaks", headers=agent_headers).get_json()["breaks"]
    assert brk["state"] == "cancelled" and "offline" in brk["end_reason"]


def test_agent_status_event_starts_nothing_with_the_builtin_queue(post_event, client, clock, agent_headers):
    """The builtin queue is pulled: reporting wrap_up makes the break ready; /next hands it over."""
    sign_in(post_event, clock, 6)
    post_event(event_for(clock, "ag_1", **ABUSIVE))
    answer = post_event(status_event(clock, "ag_1", "wrap_up")).get_json()["agent"]
    assert answer["break"]["state"] == "due" and answer["break"]["ready_at"] == clock.now.isoformat()
    assert client.get("/api/v1/agents/ag_1/next", headers=agent_headers).get_json()["kind"] == "break"


def test_a_second_trigger_while_a_break_is_pending_adds_no_request(post_event, client, clock, agent_headers):
    sign_in(post_event, clock, 6)
    first = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]["break"]
    second = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]["break"]
    assert first["outcome"] == "granted" and second is None
    assert len(client.get("/api/v1/agents/ag_1/breaks", headers=agent_headers).get_json()["breaks"]) == 1


def test_per_shift_cap_refuses_with_the_reason(post_event, client, clock, rt, manager_headers, agent_headers):
    publish(client, manager_headers, {"rules": [{"name": "after abuse", "when": {"signals_any": ["abusive_language"]},
                                                 "then": {"break_minutes": 5, "start": "now"}}],
                                      "guards": {"max_breaks_per_shift": 1, "min_minutes_between_breaks": 0,
                                                 "service_level": None}})
    sign_in(post_event, clock, 6)
    post_event(event_for(clock, "ag_1", **ABUSIVE))
    assert client.get("/api/v1/agents/ag_1/next", headers=agent_headers).get_json()["kind"] == "break"
    clock.advance(minutes=6)
    tick(rt, clock)
    refused = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]["break"]
    assert refused["outcome"] == "refused"
    assert refused["reasons"][-1] == "per-shift cap: 1 of 1 breaks taken"


def test_break_reports_for_the_dashboard(post_event, client, clock, rt, agent_headers):
    sign_in(post_event, clock, 6)
    start = clock.now
    for _ in range(3):
        post_event(event_for(clock, "ag_1", **ABUSIVE))
    client.put("/api/v1/agents/ag_1/state", json={"state": "wrap_up"}, headers=agent_headers)
    client.get("/api/v1/agents/ag_1/next", headers=agent_headers)
    clock.advance(minutes=30)
    tick(rt, clock)
    with rt.db.session() as session:
        stats = wellbeing.break_stats(session, start=start, end=clock.now, team=TEAM)
        log = wellbeing.break_decisions(session, team=TEAM)
        rows = wellbeing.team_load(session, team=TEAM, now=clock.now)
        detail = wellbeing.agent_load(session, agent_id="ag_1", now=clock.now)
    mine = stats["per_agent"]["ag_1"]
    assert (mine["granted"], mine["deferred"], mine["escalated"], mine["refused"]) == (1, 0, 0, 0)
    assert mine["minutes_on_break"] == 5.0
    assert mine["minutes_above_threshold"] > 0
    assert stats["totals"]["granted"] == 1 and stats["per_agent"]["ag_2"]["minutes_above_threshold"] == 0
    assert [d["outcome"] for d in log] == ["granted"] and log[0]["reasons"]
    assert {r["agent_id"] for r in rows} == {f"ag_{n}" for n in range(1, 7)}
    assert detail["parts"]["abusive_language"] == 3.0


def test_openapi_documents_every_wellbeing_endpoint(client):
    spec = client.get("/openapi.json").get_json()
    for path, method in [("/api/v1/agents/{agent_id}/load", "get"), ("/api/v1/teams/{team}/load", "get"),
                         ("/api/v1/agents/{agent_id}/state", "put"), ("/api/v1/agents/{agent_id}/next", "get"),
                         ("/api/v1/agents/{agent_id}/breaks", "get"),
                         ("/api/v1/agents/{agent_id}/breaks/{break_id}/end", "post"),
                         ("/api/v1/break-rules", "get"), ("/api/v1/break-rules", "put"),
                         ("/api/v1/break-rules/history", "get"), ("/api/v1/break-rules/rollback", "post"),
                         ("/api/v1/break-rules/simulate", "post")]:
        operation = spec["paths"][path][method]
        assert operation["security"] == [{"bearerAuth": []}] and operation["summary"], (path, method)
        ok = next(code for code in operation["responses"] if code.startswith("2"))
        assert "schema" in operation["responses"][ok]["content"]["application/json"], (path, method)


@pytest.fixture
def heavier_abuse(overrides):
    overrides["wellbeing"] = {"weights": {"abusive_language": 2.0, "half_life_working_minutes": 30.0},
                              "load_threshold": 4.0}


def test_configured_weights_half_lives_and_threshold_apply(heavier_abuse, post_event, client, clock, read_headers,
                                                           manager_headers):
    added = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]
    assert added["parts"]["abusive_language"] == 2.0 and added["threshold"] == 2.5
    publish(client, manager_headers, {"rules": [{"name": "after abuse", "when": {"signals_any": ["abusive_language"]},
                                                 "then": {"break_minutes": 5}}]}, team="no-load-rules")
    calm = post_event(event_for(clock, "ag_2", team="no-load-rules", **CALM)).get_json()["agent_load"]
    assert calm["threshold"] == 4.0
    clock.advance(minutes=30)
    got = client.get("/api/v1/agents/ag_1/load", headers=read_headers).get_json()
    assert got["load"] == pytest.approx(added["load"] / 2, abs=1e-3)


def test_unknown_weight_setting_fails_at_start_up(overrides):
    from aftercare.app import create_app

    overrides["wellbeing"] = {"weights": {"abusive_languag": 2.0}}
    with pytest.raises(ValueError, match="abusive_languag"):
        create_app(overrides)


def test_agents_not_seen_this_shift_do_not_count_towards_the_team(post_event, client, clock, manager_headers):
    publish(client, manager_headers, {"rules": [{"name": "after abuse", "when": {"signals_any": ["abusive_language"]},
                                                 "then": {"break_minutes": 5}}],
                                      "guards": {"max_team_fraction_on_break": 0.5, "service_level": None}})
    sign_in(post_event, clock, 4)
    clock.advance(hours=9)
    first = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]["break"]
    second = post_event(event_for(clock, "ag_2", **ABUSIVE)).get_json()["agent_load"]["break"]
    assert (first["outcome"], second["outcome"]) == ("granted", "deferred")
    assert "deferred: team concurrency cap: 1 of 1 allowed already on break" in second["reasons"]


def _agent_row(rt, agent_id: str) -> tuple:
    with rt.db.session() as session:
        [me] = [a for a in wellbeing.team_load(session, team=None, now=rt.clock()) if a["agent_id"] == agent_id]
    return me["team"], me["name"], me["state"]


@pytest.mark.parametrize("body,field", [({"team": "secret-team"}, "team"), ({"name": "Boss"}, "name"),
                                        ({"team": "secret-team", "name": "Boss"}, "team")])
def test_an_agent_key_reports_state_only_never_team_or_name(app, rt, client, clock, post_event, body, field):
    """Issue 11: ag_1's own key moved ag_1 into secret-team and /next handed over that team's reopened case."""
    from aftercare.auth import create_api_key

    post_event(event_for(clock, "ag_1", **CALM))
    with rt.db.session() as session:
        wellbeing.enqueue_case_item(session, case_id="c_secret", kind="case", title="secret-team's reopened case",
                                    team="secret-team", preferred_agent_id=None, now=clock.now)
        session.commit()
        bound = {"Authorization": "Bearer " + create_api_key(session=session, name="softphone", scopes=["agent"],
                                                             agent_id="ag_1")}
    unbound = {"Authorization": f"Bearer {make_key(app, 'agent')}"}
    before, agent_before = row_counts(rt), _agent_row(rt, "ag_1")
    for headers in (bound, unbound):
        problem = assert_problem(client.put("/api/v1/agents/ag_1/state", json={"state": "available", **body},
                                            headers=headers), 403, field)
        assert "manager" in problem["detail"]
    assert row_counts(rt) == before and _agent_row(rt, "ag_1") == agent_before
    assert client.get("/api/v1/agents/ag_1/next", headers=bound).get_json()["kind"] == "none"
    assert client.put("/api/v1/agents/ag_1/state", json={"state": "busy"}, headers=bound).status_code == 200


def test_a_manager_key_may_still_set_an_agents_team_and_name(rt, client, clock, post_event, manager_headers):
    post_event(event_for(clock, "ag_1", **CALM))
    resp = client.put("/api/v1/agents/ag_1/state", json={"state": "available", "team": "night", "name": "M. Lopez"},
                      headers=manager_headers)
    assert resp.status_code == 200, resp.get_json()
    assert _agent_row(rt, "ag_1") == ("night", "M. Lopez", "available")
