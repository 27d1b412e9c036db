"""Issue 17 end to end: "that one rattled me" (load, rule, dashboard prompt, scopes) and `break_status` on the team
load API for each kind of decision."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from aftercare.auth import create_api_key
from tests.support import dashboard
from tests.support.problems import assert_problem, row_counts
from tests.support.wellbeing import ABUSIVE, CALM, TEAM, event_for, publish, sign_in, tick

ONLY_ABUSE = [{"name": "after abuse", "when": {"signals_any": ["abusive_language"]}, "then": {"break_minutes": 5}}]


def bound_headers(app, agent_id: str) -> dict:
    with app.extensions["aftercare"].db.session() as session:
        key = create_api_key(session=session, name=f"softphone {agent_id}", scopes=["agent"], agent_id=agent_id)
        session.commit()
    return {"Authorization": f"Bearer {key}"}


def team_load(client, headers) -> dict:
    resp = client.get(f"/api/v1/teams/{TEAM}/load", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def row_of(client, headers, agent: str) -> dict:
    return next(a for a in team_load(client, headers)["agents"] if a["agent_id"] == agent)


# --- "that one rattled me" -------------------------------------------------------------------------------------

def test_rattled_adds_load_and_prompts_the_manager_until_seen(app, post_event, client, clock, read_headers,
                                                             manager_headers):
    before = post_event(event_for(clock, "ag_1", **CALM)).get_json()["agent_load"]["load"]
    resp = client.post("/api/v1/agents/ag_1/rattled", json={"note": "caller threatened me"},
                       headers=bound_headers(app, "ag_1"))
    assert resp.status_code == 201, resp.get_json()
    got = resp.get_json()
    assert got["added"] == 1.0 and got["load"] == pytest.approx(before + 1.0, abs=1e-3)
    assert got["break"] is None and got["note"] == "caller threatened me"
    assert row_of(client, read_headers, "ag_1")["load"] == pytest.approx(before + 1.0, abs=1e-3)
    twice = client.post("/api/v1/agents/ag_1/rattled", json={"note": "again"}, headers=bound_headers(app, "ag_1"))
    assert twice.status_code == 200 and twice.get_json()["duplicate"] is True and twice.get_json()["id"] == got["id"]
    assert row_of(client, read_headers, "ag_1")["load"] == pytest.approx(before + 1.0, abs=1e-3)
    [prompt] = team_load(client, read_headers)["rattled"]
    assert prompt["id"] == got["id"] and prompt["note"] == "caller threatened me" and prompt["name"] == "Ag 1"

    seen = client.post(f"/api/v1/agents/ag_1/rattled/{got['id']}/seen", headers=manager_headers)
    assert seen.status_code == 200 and seen.get_json()["seen_at"] == clock.now.isoformat()
    assert team_load(client, read_headers)["rattled"] == []
    again = client.post(f"/api/v1/agents/ag_1/rattled/{got['id']}/seen", headers=manager_headers).get_json()
    assert again["seen_at"] == seen.get_json()["seen_at"]


def test_a_rule_on_agent_reported_grants_a_break(app, post_event, client, clock, manager_headers):
    publish(client, manager_headers, {"rules": [
        {"name": "agent says so", "when": {"agent_reported": True}, "then": {"break_minutes": 6, "start": "now"}}],
        "guards": {"service_level": None}})
    sign_in(post_event, clock, 6)
    post_event(event_for(clock, "ag_1", **CALM))
    got = client.post("/api/v1/agents/ag_1/rattled", headers=bound_headers(app, "ag_1")).get_json()
    decision = got["break"]
    assert decision["outcome"] == "granted" and decision["rule"] == "agent says so" and decision["minutes"] == 6
    assert "rule 'agent says so': the agent said it rattled them" in decision["reasons"]
    assert got["break_id"] == decision["break_id"] and got["note"] is None
    # an ordinary interaction does not match the rule
    assert post_event(event_for(clock, "ag_2", **ABUSIVE)).get_json()["agent_load"]["break"] is None


def test_rattled_scopes_and_bad_input(app, post_event, client, clock, rt, read_headers, manager_headers):
    post_event(event_for(clock, "ag_1", **CALM))
    post_event(event_for(clock, "ag_2", **CALM))
    before = row_counts(rt)
    assert_problem(client.post("/api/v1/agents/ag_1/rattled", json={}, headers=bound_headers(app, "ag_2")), 403)
    assert_problem(client.post("/api/v1/agents/ag_1/rattled", json={}, headers=read_headers), 403)
    assert_problem(client.post("/api/v1/agents/ag_1/rattled", json={}), 401)
    assert_problem(client.post("/api/v1/agents/ag_1/rattled", json={"note": "x" * 1001},
                               headers=manager_headers), 422, "note")
    assert_problem(client.post("/api/v1/agents/ag_1/rattled", json={"mood": "bad"}, headers=manager_headers),
                   422, "mood")
    assert_problem(client.post("/api/v1/agents/ag_nobody/rattled", json={}, headers=manager_headers), 404)
    assert row_counts(rt) == before
    made = client.post("/api/v1/agents/ag_1/rattled", headers=manager_headers)
    assert made.status_code == 201, made.get_json()
    report = made.get_json()["id"]
    assert_problem(client.post(f"/api/v1/agents/ag_1/rattled/{report}/seen", headers=bound_headers(app, "ag_1")),
                   403)
    assert_problem(client.post(f"/api/v1/agents/ag_2/rattled/{report}/seen", headers=manager_headers), 404)


def test_a_double_tap_at_the_same_moment_counts_once(app, post_event, rt, clock):
    """Two reports of the same interaction in flight at once (a double tap on the softphone): the second waits for
    the first and answers it as a duplicate; one report, one load added. SQLite runs one write transaction at a
    time anyway (BEGIN IMMEDIATE), so only PostgreSQL can show the race."""
    if rt.db.is_sqlite:
        pytest.skip("SQLite serialises write transactions: the second tap always sees the first")
    from sqlalchemy import func, select

    from wellbeing import rattled
    from wellbeing.models import AgentReport

    post_event(event_for(clock, "ag_1", **CALM))
    answers = []

    def tap(session):
        answers.append(rattled.report_rattled(session, agent_id="ag_1", note=None, reported_by="softphone",
                                              now=clock.now))
        session.commit()

    with rt.db.session() as first, rt.db.session() as second:
        answers.append(rattled.report_rattled(first, agent_id="ag_1", note="first", reported_by="softphone",
                                              now=clock.now))
        other = threading.Thread(target=tap, args=(second,))
        other.start()
        other.join(timeout=1)  # unlocked, the second tap is done by now, having seen no report yet
        first.commit()
        other.join()
    assert [a["duplicate"] for a in answers] == [False, True]
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AgentReport)) == 1


def test_the_dashboard_prompt_is_marked_seen_with_a_csrf_form(app, post_event, client, clock):
    from aftercare.managers import create_manager

    with app.extensions["aftercare"].db.session() as session:
        create_manager(session=session, username="dana", password=dashboard.PASSWORD, now=clock.now)
        session.commit()
    post_event(event_for(clock, "ag_1", **CALM))
    report = client.post("/api/v1/agents/ag_1/rattled", json={"note": "he shouted <b>at me</b>"},
                         headers=bound_headers(app, "ag_1")).get_json()["id"]
    dashboard.sign_in(client)
    html = dashboard.page(client, f"/dashboard/load?team={TEAM}")
    assert 'id="rattled"' in html and "he shouted &lt;b&gt;at me&lt;/b&gt;" in html
    url = f"/dashboard/agents/ag_1/rattled/{report}/seen"
    assert client.post(url, data={"team": TEAM}).status_code == 400
    assert "he shouted" in dashboard.page(client, f"/dashboard/load/live?team={TEAM}")
    resp = dashboard.post_form(client, url, {"team": TEAM}, form_page=f"/dashboard/load?team={TEAM}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/dashboard/load?team={TEAM}")
    assert 'id="rattled"' not in dashboard.page(client, f"/dashboard/load?team={TEAM}")


# --- break_status --------------------------------------------------------------------------------------------

def over_threshold(post_event, clock, agent: str = "ag_1") -> dict:
    """Two abusive calls: over the 2.5 threshold; the first asks for the "after abuse" break."""
    post_event(event_for(clock, agent, **ABUSIVE))
    return post_event(event_for(clock, agent, **ABUSIVE)).get_json()["agent_load"]


def test_status_granted_waiting_for_the_current_interaction(post_event, client, clock, read_headers):
    sign_in(post_event, clock, 6)
    post_event(event_for(clock, "ag_1", **ABUSIVE))
    post_event(event_for(clock, "ag_1", **ABUSIVE))
    client_row = row_of(client, read_headers, "ag_1")
    assert client_row["over_threshold"] is True
    status = client_row["break_status"]
    assert status["kind"] == "granted"
    assert status["text"] == "granted at 14:10: 5 min break after the current interaction ('after abuse')"
    others = [a for a in team_load(client, read_headers)["agents"] if a["agent_id"] != "ag_1"]
    assert all(a["break_status"] is None for a in others)


def test_status_deferred_by_service_level(post_event, client, clock, manager_headers, read_headers):
    publish(client, manager_headers, {"rules": ONLY_ABUSE, "guards": {
        "service_level": {"target": 0.8, "answer_within_seconds": 20}, "max_deferral_minutes": 20}})
    post_event(event_for(clock, "ag_2", **CALM))
    post_event(event_for(clock, "ag_3", **CALM))
    assert over_threshold(post_event, clock)["break"] is None   # the second finds the first still pending
    status = row_of(client, read_headers, "ag_1")["break_status"]
    assert status["kind"] == "deferred" and status["guard"] == "service_level"
    assert status["text"].startswith("deferred: predicted service level 0.")
    assert status["text"].endswith("< 0.80 until 14:30") and status["until"].startswith("2026-11-25T14:30")


def test_status_deferred_by_service_level_with_erlang_a_says_who_hangs_up(post_event, client, clock,
                                                                        manager_headers, read_headers):
    publish(client, manager_headers, {"rules": ONLY_ABUSE, "guards": {"service_level": {
        "target": 0.95, "answer_within_seconds": 20, "model": "erlang_a", "patience_seconds": 60}}})
    post_event(event_for(clock, "ag_2", **CALM))
    post_event(event_for(clock, "ag_3", **CALM))
    decision = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]["break"]
    assert decision["outcome"] == "deferred" and "Erlang A" in decision["reasons"][-1]
    post_event(event_for(clock, "ag_1", **ABUSIVE))
    status = row_of(client, read_headers, "ag_1")["break_status"]
    assert status["guard"] == "service_level" and "of callers would hang up, Erlang A" in status["text"]


def test_status_deferred_by_team_share_on_break(post_event, client, clock, manager_headers, read_headers):
    publish(client, manager_headers, {"rules": ONLY_ABUSE, "guards": {"service_level": None,
                                                                      "max_team_fraction_on_break": 0.2}})
    sign_in(post_event, clock, 3)
    assert post_event(event_for(clock, "ag_2", **ABUSIVE)).get_json()["agent_load"]["break"]["outcome"] == "granted"
    over_threshold(post_event, clock)
    status = row_of(client, read_headers, "ag_1")["break_status"]
    assert status == {**status, "kind": "deferred", "guard": "concurrency",
                      "text": "deferred: 1 of 1 allowed already on a break (team share 20%) until 14:20"}


def test_status_deferred_by_spacing_then_refused_by_the_shift_cap(post_event, client, clock, rt, manager_headers,
                                                                  read_headers, agent_headers):
    publish(client, manager_headers, {"rules": ONLY_ABUSE, "guards": {
        "service_level": None, "min_minutes_between_breaks": 45, "max_breaks_per_shift": 2}})
    sign_in(post_event, clock, 6)
    for expected_guard in ("spacing", None):
        post_event(event_for(clock, "ag_1", **ABUSIVE))
        client.put("/api/v1/agents/ag_1/state", json={"state": "wrap_up"}, headers=agent_headers)
        assert client.get("/api/v1/agents/ag_1/next", headers=agent_headers).get_json()["kind"] == "break"
        clock.advance(minutes=5)
        tick(rt, clock)
        post_event(event_for(clock, "ag_1", **ABUSIVE))
        post_event(event_for(clock, "ag_1", **ABUSIVE))
        status = row_of(client, read_headers, "ag_1")["break_status"]
        if expected_guard == "spacing":
            assert status["kind"] == "deferred" and status["guard"] == "spacing"
            assert status["text"] == "deferred: last break ended 0 min ago, 45 min between breaks, until 14:25"
            clock.advance(minutes=46)
            tick(rt, clock)
    assert status["kind"] == "refused" and status["guard"] == "shift_cap"
    assert status["text"] == "shift cap of 2 breaks reached"


def test_status_no_rule_matched_names_what_the_rules_need(post_event, client, clock, manager_headers, read_headers):
    publish(client, manager_headers, {"rules": [
        {"name": "heavy load", "when": {"load_at_least": 2.5, "category_in": ["fraud"]}, "then": {"break_minutes": 10}}],
        "guards": {"service_level": None}})
    load = over_threshold(post_event, clock)["load"]
    status = row_of(client, read_headers, "ag_1")["break_status"]
    assert status["kind"] == "no_rule_matched"
    assert status["text"] == f"no rule matched at {load:.1f} (heavy load needs category fraud)"


def test_status_escalated_after_waiting(post_event, client, clock, rt, manager_headers, read_headers):
    publish(client, manager_headers, {"rules": ONLY_ABUSE, "guards": {
        "service_level": {"target": 0.8, "answer_within_seconds": 20}, "max_deferral_minutes": 10}})
    post_event(event_for(clock, "ag_2", **CALM))
    over_threshold(post_event, clock)
    clock.advance(minutes=10)
    tick(rt, clock)
    status = row_of(client, read_headers, "ag_1")["break_status"]
    assert status["kind"] == "escalated" and status["guard"] == "service_level"
    assert status["text"] == ("granted after waiting 10 min (service level), escalated to team_lead: "
                              "5 min break after the current interaction")


def test_simulating_an_agent_reported_rule_replays_the_reports(app, post_event, client, clock, manager_headers):
    post_event(event_for(clock, "ag_1", **CALM))
    post_event(event_for(clock, "ag_2", **CALM))
    clock.advance(minutes=1)
    assert client.post("/api/v1/agents/ag_1/rattled", headers=manager_headers).status_code == 201
    clock.advance(minutes=10)
    proposed = {"rules": [{"name": "agent says so", "when": {"agent_reported": True}, "then": {"break_minutes": 5}}],
                "guards": {"service_level": {"target": 0.8, "answer_within_seconds": 20, "model": "erlang_a",
                                             "patience_seconds": 60}}}
    resp = client.post("/api/v1/break-rules/simulate", headers=manager_headers, json={
        "rules": proposed, "team": TEAM, "from": (clock.now - timedelta(hours=1)).isoformat(),
        "to": clock.now.isoformat()})
    assert resp.status_code == 200, resp.get_json()
    got = resp.get_json()
    assert got["proposed"]["outcomes"]["requests"] == 1 and got["active"]["outcomes"]["requests"] == 0
    assert set(got["proposed"]["mean_service_level"]) == {"erlang_c", "erlang_a", "erlang_a_abandonment"}
    assert set(got["active"]["mean_service_level"]) == {"erlang_c"}
    bad = client.post("/api/v1/break-rules/simulate", headers=manager_headers, json={
        "rules": {"rules": [], "guards": {"service_level": {"model": "erlang_a"}}}, "team": TEAM,
        "from": (clock.now - timedelta(hours=1)).isoformat(), "to": clock.now.isoformat()})
    assert_problem(bad, 422, "rules.guards.service_level.patience_seconds")


def test_status_after_a_break_while_still_over_threshold(post_event, client, clock, rt, read_headers, agent_headers):
    sign_in(post_event, clock, 6)
    for _ in range(3):
        post_event(event_for(clock, "ag_1", **ABUSIVE))
    client.put("/api/v1/agents/ag_1/state", json={"state": "wrap_up"}, headers=agent_headers)
    assert client.get("/api/v1/agents/ag_1/next", headers=agent_headers).get_json()["kind"] == "break"
    assert row_of(client, read_headers, "ag_1")["break_status"] is None   # on a break: nothing to explain
    clock.advance(minutes=5)
    tick(rt, clock)
    row = row_of(client, read_headers, "ag_1")
    assert row["over_threshold"] and row["state"] == "available"
    assert row["break_status"] == {**row["break_status"], "kind": "awaiting_interaction", "rule": "after abuse"}
    assert row["break_status"]["text"].startswith("last break ended 14:15; rule 'after abuse' asks for a break")


def test_retention_blanks_old_rattled_notes_and_keeps_the_report(app, post_event, client, clock, rt,
                                                                  manager_headers, read_headers):
    from aftercare.retention import purge

    post_event(event_for(clock, "ag_1", **CALM))
    report = client.post("/api/v1/agents/ag_1/rattled", json={"note": "the customer, Sam Jones, swore"},
                         headers=manager_headers).get_json()["id"]
    later = clock.now + timedelta(days=31)
    dry = purge(rt.db, now=later, days=30, dry_run=True)
    assert dry.rattled_notes == 1
    assert team_load(client, read_headers)["rattled"][0]["note"] == "the customer, Sam Jones, swore"
    assert purge(rt.db, now=later, days=30).rattled_notes == 1
    [prompt] = team_load(client, read_headers)["rattled"]
    assert prompt["id"] == report and prompt["note"] is None and prompt["added"] == 1.0
    assert purge(rt.db, now=later, days=30).rattled_notes == 0
