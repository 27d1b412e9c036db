"""Break rules over HTTP: manager scope only, versioned with author and reason, 422 naming the field, rollback
restoring a version exactly, simulation side by side with the active set; bad input changes nothing."""
from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from tests.support.factories import make_key
from tests.support.problems import assert_problem, row_counts
from tests.support.wellbeing import ABUSIVE, ROUGH, TEAM, event_for, publish, sign_in
from wellbeing.rule_schema import dump_rule_set
from wellbeing.rules import DEFAULT_RULE_SET

RULES = {"rules": [
    {"name": "after abuse", "when": {"signals_any": ["abusive_language"]},
     "then": {"break_minutes": 6, "start": "after_current"}},
    {"name": "heavy load", "when": {"load_at_least": 2.0}, "then": {"break_minutes": 10}}],
    "guards": {"max_breaks_per_shift": 3, "min_minutes_between_breaks": 30, "max_team_fraction_on_break": 0.25,
               "service_level": {"target": 0.85, "answer_within_seconds": 30}, "max_deferral_minutes": 15,
               "escalate_to": "supervisor"}}


def body(rule_set=None, reason="calmer afternoons"):
    return {"rule_set": copy.deepcopy(RULES) if rule_set is None else rule_set, "reason": reason}


def test_nothing_stored_means_the_built_in_rules(client, manager_headers):
    got = client.get("/api/v1/break-rules", headers=manager_headers).get_json()
    assert got["version"] is None and got["team"] is None
    assert got["rules"] == dump_rule_set(DEFAULT_RULE_SET)


def test_publish_versions_with_author_and_reason(client, manager_headers, clock):
    resp = client.put(f"/api/v1/break-rules?team={TEAM}", json=body(), headers=manager_headers)
    assert resp.status_code == 201, resp.get_json()
    v1 = resp.get_json()
    assert (v1["version"], v1["team"], v1["author"], v1["reason"]) == (1, TEAM, "test manager", "calmer afternoons")
    assert v1["created_at"] == clock.now.isoformat()
    assert v1["rules"]["rules"][0]["then"] == {"break_minutes": 6, "start": "after_current"}
    assert v1["rules"]["rules"][1]["then"] == {"break_minutes": 10, "start": "after_current"}
    assert v1["rules"]["scope"] == {"team": TEAM}
    assert client.get(f"/api/v1/break-rules?team={TEAM}", headers=manager_headers).get_json() == v1
    assert client.get("/api/v1/break-rules", headers=manager_headers).get_json()["version"] is None

    v2 = publish(client, manager_headers, {**RULES, "rules": RULES["rules"][:1]}, reason="drop heavy load")
    history = client.get(f"/api/v1/break-rules/history?team={TEAM}", headers=manager_headers).get_json()
    assert [v["version"] for v in history["versions"]] == [2, 1]
    assert history["versions"][0] == v2 and history["versions"][1] == v1


def test_team_without_its_own_set_uses_the_default_set(client, manager_headers):
    default = publish(client, manager_headers, RULES, team=None, reason="company default")
    got = client.get("/api/v1/break-rules?team=support-apac", headers=manager_headers).get_json()
    assert got == default and got["team"] is None


def test_the_planner_uses_the_teams_active_rules(client, manager_headers, post_event, clock):
    publish(client, manager_headers, RULES)
    sign_in(post_event, clock, 6)
    decision = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]["break"]
    assert decision["minutes"] == 6 and decision["rule_set_version"] == 1
    load = client.get("/api/v1/agents/ag_1/load", headers=manager_headers).get_json()
    assert load["threshold"] == 2.0


def test_rollback_restores_the_previous_version_exactly(client, manager_headers):
    v1 = publish(client, manager_headers, RULES)
    changed = copy.deepcopy(RULES)
    changed["rules"][0]["then"]["break_minutes"] = 12
    changed["guards"]["service_level"] = None
    publish(client, manager_headers, changed, reason="try longer breaks")
    resp = client.post("/api/v1/break-rules/rollback", json={"version": 1, "team": TEAM, "reason": "too long"},
                       headers=manager_headers)
    assert resp.status_code == 201, resp.get_json()
    v3 = resp.get_json()
    assert v3["version"] == 3 and v3["rules"] == v1["rules"]
    assert v3["reason"] == "rollback to version 1: too long" and v3["author"] == "test manager"
    active = client.get(f"/api/v1/break-rules?team={TEAM}", headers=manager_headers).get_json()
    assert active["rules"] == v1["rules"] and active["version"] == 3
    history = client.get(f"/api/v1/break-rules/history?team={TEAM}", headers=manager_headers).get_json()["versions"]
    assert [v["version"] for v in history] == [3, 2, 1]
    assert history[1]["rules"]["rules"][0]["then"]["break_minutes"] == 12


def test_rollback_to_an_unknown_version_is_404_and_changes_nothing(client, manager_headers, rt):
    publish(client, manager_headers, RULES)
    before = row_counts(rt)
    assert_problem(client.post("/api/v1/break-rules/rollback", json={"version": 7, "team": TEAM},
                               headers=manager_headers), 404)
    assert_problem(client.post("/api/v1/break-rules/rollback", json={"version": 1},
                               headers=manager_headers), 404)
    assert row_counts(rt) == before


@pytest.mark.parametrize("scopes", [("read",), ("agent",), ("crm",), ("read", "agent")])
def test_rule_edits_by_a_non_manager_key_are_403_and_change_nothing(app, client, rt, manager_headers, scopes):
    publish(client, manager_headers, RULES)
    before = row_counts(rt)
    headers = {"Authorization": f"Bearer {make_key(app, *scopes)}"}
    assert_problem(client.put(f"/api/v1/break-rules?team={TEAM}", json=body(), headers=headers), 403)
    assert_problem(client.post("/api/v1/break-rules/rollback", json={"version": 1, "team": TEAM},
                               headers=headers), 403)
    assert_problem(client.get("/api/v1/break-rules", headers=headers), 403)
    assert_problem(client.get("/api/v1/break-rules/history", headers=headers), 403)
    assert_problem(client.post("/api/v1/break-rules/simulate", json={}, headers=headers), 403)
    assert row_counts(rt) == before


def test_no_key_is_401(client):
    assert_problem(client.put("/api/v1/break-rules", json=body()), 401)


def _with(path: str, value):
    """RULES with one value replaced at a dotted path ("rules.0.when.x")."""
    data = copy.deepcopy(RULES)
    *parents, last = path.split(".")
    target = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


@pytest.mark.parametrize("rule_set,field", [
    (_with("rules.0.when.typo_condition", 1), "rule_set.rules.0.when.typo_condition"),
    (_with("rules.1.then.break_minutes", -5), "rule_set.rules.1.then.break_minutes"),
    (_with("rules.0.then.start", "tomorrow"), "rule_set.rules.0.then.start"),
    (_with("guards.max_team_fraction_on_break", 1.5), "rule_set.guards.max_team_fraction_on_break"),
    (_with("guards.service_level", {"target": 2}), "rule_set.guards.service_level.target"),
    (_with("rules.1.name", "after abuse"), "rule_set.rules.1.name"),
    (_with("rules.1.when.load_at_least", "2.5"), "rule_set.rules.1.when.load_at_least"),
    (_with("rules.0.when", {}), "rule_set.rules.0.when"),
    (_with("scope", {"team": "someone-else"}), "rule_set.scope.team"),
    ({"guards": {}}, "rule_set.rules"),
    ("not a rule set", "rule_set"),
])
def test_a_bad_rule_set_is_422_naming_the_field_and_changes_nothing(client, rt, manager_headers, rule_set, field):
    publish(client, manager_headers, RULES)
    before = row_counts(rt)
    resp = client.put(f"/api/v1/break-rules?team={TEAM}", json=body(rule_set), headers=manager_headers)
    assert_problem(resp, 422, field)
    assert row_counts(rt) == before
    assert client.get(f"/api/v1/break-rules?team={TEAM}", headers=manager_headers).get_json()["version"] == 1


@pytest.mark.parametrize("payload,field", [
    ({"rule_set": RULES}, "reason"),
    ({"rule_set": RULES, "reason": ""}, "reason"),
    ({"reason": "x"}, "rule_set"),
    ({"rules": RULES, "reason": "x"}, "rules"),
])
def test_bad_publish_bodies_name_the_field(client, rt, manager_headers, payload, field):
    before = row_counts(rt)
    assert_problem(client.put("/api/v1/break-rules", json=payload, headers=manager_headers), 422, field)
    assert row_counts(rt) == before


@pytest.mark.parametrize("payload,field", [
    ({"version": "one"}, "version"), ({"version": 0}, "version"), ({}, "version"),
])
def test_bad_rollback_bodies_name_the_field(client, rt, manager_headers, payload, field):
    publish(client, manager_headers, RULES)
    before = row_counts(rt)
    assert_problem(client.post("/api/v1/break-rules/rollback", json=payload, headers=manager_headers), 422, field)
    assert row_counts(rt) == before


def _recorded_window(post_event, clock):
    """Interactions on record: a calm hour for ag_2..ag_6 and three rough ones in a row for ag_1."""
    start = clock.now
    sign_in(post_event, clock, 6)
    for minute in range(0, 60, 10):
        for n in range(2, 7):
            post_event(event_for(clock, f"ag_{n}", **{"interaction.customer_sentiment": 0.4,
                                                      "interaction.signals": []}))
        if minute in (10, 20, 30):
            post_event(event_for(clock, "ag_1", **ROUGH))
        clock.advance(minutes=10)
    return start, clock.now


def test_simulate_replays_the_window_with_proposed_and_active_rules(client, rt, manager_headers, post_event, clock):
    start, end = _recorded_window(post_event, clock)
    before = row_counts(rt)
    proposed = {"rules": [{"name": "two rough", "when": {"consecutive_negative_at_least": 2},
                           "then": {"break_minutes": 9}}], "guards": {"service_level": None}}
    resp = client.post("/api/v1/break-rules/simulate", json={
        "rules": proposed, "from": start.isoformat(), "to": end.isoformat(), "team": TEAM}, headers=manager_headers)
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()
    assert result["window"]["interactions"] == 33 and result["window"]["active_version"] is None
    assert result["proposed"]["breaks_per_agent"]["ag_1"] == 1
    assert result["proposed"]["minutes_off_queue"]["ag_1"] == 9
    assert result["active"]["outcomes"]["requests"] == 1
    assert result["active"]["minutes_off_queue"]["ag_1"] == 7
    assert set(result["proposed"]["breaks_per_agent"]) == {f"ag_{n}" for n in range(1, 7)}
    assert result["proposed"]["service_level_by_hour"]
    assert row_counts(rt) == before


@pytest.mark.parametrize("change,field", [
    ({"from": "2026-11-25T15:00:00Z", "to": "2026-11-25T14:00:00Z"}, "to"),
    ({"from": "2026-10-01T00:00:00Z", "to": "2026-11-25T00:00:00Z"}, "to"),
    ({"from": "yesterday"}, "from"),
    ({"rules": {"rules": [{"name": "x", "when": {"nope": 1}, "then": {"break_minutes": 5}}]}},
     "rules.rules.0.when.nope"),
    ({"team": ""}, "team"),
])
def test_bad_simulation_requests_name_the_field(client, rt, manager_headers, change, field):
    payload = {"rules": RULES, "from": "2026-11-25T13:00:00Z", "to": "2026-11-25T14:00:00Z", "team": TEAM, **change}
    before = row_counts(rt)
    assert_problem(client.post("/api/v1/break-rules/simulate", json=payload, headers=manager_headers), 422, field)
    assert row_counts(rt) == before


def test_service_functions_the_dashboard_uses(rt, client, manager_headers, clock):
    from marshmallow import ValidationError

    import wellbeing.services as wellbeing

    with rt.db.session() as session:
        first = wellbeing.publish_rule_set(session, team="t1", data=RULES, author="Ann", reason="first", now=clock.now)
        with pytest.raises(ValidationError) as bad:
            wellbeing.publish_rule_set(session, team="t1", data=_with("rules.0.then.break_minutes", 0),
                                       author="Ann", reason="bad", now=clock.now)
        assert "rules.0.then.break_minutes" in bad.value.messages
        wellbeing.publish_rule_set(session, team="t1", data={"rules": []}, author="Bo", reason="none",
                                   now=clock.now + timedelta(minutes=1))
        restored = wellbeing.rollback_rule_set(session, team="t1", version=1, author="Ann", now=clock.now)
        with pytest.raises(LookupError):
            wellbeing.rollback_rule_set(session, team="t1", version=9, author="Ann", now=clock.now)
        session.commit()
        assert restored["rules"] == first["rules"] and restored["version"] == 3
        assert wellbeing.active_rule_set(session, team="t1")["version"] == 3
        assert [v["author"] for v in wellbeing.rule_history(session, team="t1")] == ["Ann", "Bo", "Ann"]
        assert wellbeing.active_rule_set(session, team="t2")["version"] is None
