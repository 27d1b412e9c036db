"""Issue 17's pure parts: the rule document's new fields, the agent_reported condition, why no rule matched, the
planner's guard on each decision, break_status in words for each kind of decision, the simulation's per-shift
exposure and both queueing models, and the agent timeline chart."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from aftercare.dashboard.listening import agent_timeline, timeline_chart, with_erlang_a
from aftercare.dashboard.presenters import simulation_view
from wellbeing.explain import LastDecision, describe
from wellbeing.load import InteractionSignals
from wellbeing.planner import BreakRequest, TeamSnapshot, decide
from wellbeing.rule_schema import dump_rule_set, load_rule_set
from wellbeing.rules import DEFAULT_RULE_SET, AgentSituation, evaluate, why_no_match
from wellbeing.simulation import RecordedInteraction, simulate

T0 = datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc)
REPORTED = {"name": "agent says so", "when": {"agent_reported": True}, "then": {"break_minutes": 5}}


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def errors_of(document) -> dict:
    with pytest.raises(ValidationError) as caught:
        load_rule_set(document)
    return caught.value.messages


# --- the rule document -----------------------------------------------------------------------------------------

def test_agent_reported_is_a_condition_that_only_takes_true():
    rule_set = load_rule_set({"rules": [REPORTED]})
    assert dump_rule_set(rule_set)["rules"][0]["when"] == {"agent_reported": True}
    assert "rules.0.when.agent_reported" in errors_of({"rules": [{**REPORTED, "when": {"agent_reported": False}}]})
    assert "rules.0.when.agent_reported" in errors_of({"rules": [{**REPORTED, "when": {"agent_reported": "true"}}]})
    match = evaluate(rule_set, AgentSituation(load=0.2, agent_reported=True))
    assert match.reasons == ("rule 'agent says so': the agent said it rattled them",)
    assert evaluate(rule_set, AgentSituation(load=9.0)) is None


def test_service_level_model_and_patience():
    guards = {"service_level": {"target": 0.8, "answer_within_seconds": 20, "model": "erlang_a",
                                "patience_seconds": 90}}
    rule_set = load_rule_set({"rules": [], "guards": guards})
    assert rule_set.guards.service_level.model == "erlang_a" and rule_set.guards.service_level.patience_seconds == 90
    assert dump_rule_set(rule_set)["guards"]["service_level"] == guards["service_level"]
    assert "model" not in dump_rule_set(DEFAULT_RULE_SET)["guards"]["service_level"]   # old documents unchanged
    assert "guards.service_level.patience_seconds" in errors_of(
        {"rules": [], "guards": {"service_level": {"model": "erlang_a"}}})
    assert "guards.service_level.model" in errors_of({"rules": [], "guards": {"service_level": {"model": "erlang_b"}}})
    assert "guards.service_level.patience_seconds" in errors_of(
        {"rules": [], "guards": {"service_level": {"model": "erlang_a", "patience_seconds": 0}}})


def test_new_schema_fields_carry_metadata_for_a_generated_editor():
    from wellbeing.rule_schema import ServiceLevelSchema, WhenSchema

    assert WhenSchema().fields["agent_reported"].metadata["description"]
    assert ServiceLevelSchema().fields["patience_seconds"].metadata["units"] == "seconds"
    assert "erlang_a" in ServiceLevelSchema().fields["model"].metadata["description"]


def test_why_no_match_names_what_each_rule_needs():
    heavy = load_rule_set({"rules": [{"name": "heavy load", "when": {"load_at_least": 5.0},
                                      "then": {"break_minutes": 10}}]})
    assert why_no_match(heavy, AgentSituation(load=4.87)) == "no rule matched at 4.9 (heavy load needs 5.0)"
    text = why_no_match(DEFAULT_RULE_SET, AgentSituation(load=2.0, consecutive_negative=1))
    assert text == ("no rule matched at 2.0 (heavy load needs 2.5; after abuse needs abusive_language; "
                    "three rough in a row needs 3 rough in a row (has 1))")


# --- the planner says which guard ---------------------------------------------------------------------------------

def test_erlang_a_guard_defers_less_than_erlang_c_on_a_busy_queue_and_says_so():
    busy = TeamSnapshot(team_size=12, available=12, on_break=0, arrival_rate_per_s=10 / 300, aht_s=300)
    wanted = BreakRequest("ag_1", "t", "after abuse", 5, "after_current", T0, ())
    erlang_c = decide(wanted, busy, DEFAULT_RULE_SET.guards, T0)
    assert erlang_c.guard == "service_level" and erlang_c.detail["abandonment"] is None
    patient = replace(DEFAULT_RULE_SET.guards, service_level=replace(
        DEFAULT_RULE_SET.guards.service_level, model="erlang_a", patience_seconds=30, target=0.7))
    erlang_a = decide(wanted, busy, patient, T0)
    assert erlang_a.outcome == "granted"
    strict = replace(patient, service_level=replace(patient.service_level, target=0.9))
    deferred = decide(wanted, busy, strict, T0)
    assert deferred.guard == "service_level" and deferred.detail["model"] == "erlang_a"
    assert 0 < deferred.detail["abandonment"] < 1 and "of callers would hang up" in deferred.reasons[-1]


# --- break_status in words ------------------------------------------------------------------------------------------

def last(outcome: str, guard: str | None = None, **detail) -> LastDecision:
    return LastDecision(outcome=outcome, rule="heavy load", minutes=10, start="after_current", decided_at=T0,
                        break_state={"deferred": "deferred", "refused": "refused"}.get(outcome, "due"), guard=guard,
                        detail=detail, retry_at=T0 + minutes(1) if outcome == "deferred" else None,
                        escalate_to="team_lead" if outcome == "escalated" else None,
                        requested_at=T0 - minutes(10))


SITUATION = AgentSituation(load=3.1)


@pytest.mark.parametrize(("decision", "kind", "text"), [
    (last("deferred", "service_level", predicted=0.7412, target=0.8, abandonment=None,
          deadline=(T0 + minutes(20)).isoformat()),
     "deferred", "deferred: predicted service level 0.74 < 0.80 until 14:20"),
    (last("deferred", "service_level", predicted=0.7412, target=0.8, abandonment=0.061,
          deadline=(T0 + minutes(20)).isoformat()),
     "deferred", "deferred: predicted service level 0.74 < 0.80 until 14:20 (6% of callers would hang up, Erlang A)"),
    (last("deferred", "concurrency", on_break=4, cap=4, fraction=0.2, deadline=(T0 + minutes(10)).isoformat()),
     "deferred", "deferred: 4 of 4 allowed already on a break (team share 20%) until 14:10"),
    (last("deferred", "spacing", minutes_since_last=12, required=20), "deferred",
     "deferred: last break ended 12 min ago, 20 min between breaks, until 14:01"),
    (last("refused", "shift_cap", taken=4, cap=4), "refused", "shift cap of 4 breaks reached"),
    (last("granted"), "granted", "granted at 14:00: 10 min break after the current interaction ('heavy load')"),
    (last("escalated", "service_level"), "escalated",
     "granted after waiting 10 min (service level), escalated to team_lead: 10 min break after the current "
     "interaction"),
])
def test_break_status_for_each_kind_of_decision(decision, kind, text):
    status = describe(decision, rule_set=DEFAULT_RULE_SET, situation=SITUATION)
    assert status["kind"] == kind and status["text"] == text


def test_break_status_without_a_decision_runs_the_rules_now():
    only_fraud = load_rule_set({"rules": [{"name": "heavy-load rule", "when": {"load_at_least": 5.0},
                                           "then": {"break_minutes": 10}}]})
    status = describe(None, rule_set=only_fraud, situation=AgentSituation(load=4.87))
    assert status == {"kind": "no_rule_matched", "text": "no rule matched at 4.9 (heavy-load rule needs 5.0)"}
    waiting = describe(None, rule_set=DEFAULT_RULE_SET, situation=AgentSituation(load=3.0),
                       last_break_ended_at=T0 - minutes(3))
    assert waiting["kind"] == "awaiting_interaction" and waiting["text"].startswith(
        "last break ended 13:57; rule 'heavy load' asks for a break after the next interaction")


# --- simulation -------------------------------------------------------------------------------------------------------

ABUSIVE = InteractionSignals(sentiment=-0.8, signals=("abusive_language",), resolution="unresolved",
                             duration_seconds=300)
CALM = InteractionSignals(sentiment=0.4, resolution="resolved", duration_seconds=240)


def test_simulation_counts_unrelieved_minutes_per_agent_shift_and_shows_erlang_a_next_to_erlang_c():
    agents = [f"ag_{i}" for i in range(1, 6)]
    items = [RecordedInteraction(a, T0 + minutes(m), CALM) for a in agents for m in range(0, 60, 10)]
    items += [RecordedInteraction("ag_1", T0 + minutes(m), ABUSIVE) for m in (1, 3, 5)]
    no_rules = simulate(load_rule_set({"rules": []}), items, agents, None, T0, T0 + minutes(120))
    with_breaks = simulate(DEFAULT_RULE_SET, items, agents, None, T0, T0 + minutes(120))
    assert no_rules.unrelieved_percentiles()["agent_shifts"] == 5
    assert no_rules.unrelieved_minutes[("ag_1", T0.date())] > with_breaks.unrelieved_minutes[("ag_1", T0.date())]
    assert no_rules.unrelieved_minutes[("ag_2", T0.date())] == 0
    assert "erlang_a" not in with_breaks.mean_service_level()
    erlang_a_set = load_rule_set({**dump_rule_set(DEFAULT_RULE_SET), "guards": {"service_level": {
        "target": 0.8, "answer_within_seconds": 20, "model": "erlang_a", "patience_seconds": 60}}})
    both = simulate(erlang_a_set, items, agents, None, T0, T0 + minutes(120)).as_dict()
    assert set(both["mean_service_level"]) == {"erlang_c", "erlang_a", "erlang_a_abandonment"}
    hour = both["service_level_by_hour"][0]
    assert {"predicted_service_level", "erlang_a_service_level", "erlang_a_abandonment"} <= set(hour)
    result = {"proposed": both, "active": with_breaks.as_dict(), "window": {}}
    view = with_erlang_a(simulation_view(result), result)
    assert str(view["service_chart"]).count("<polyline") == 3 and "proposed, Erlang A" in str(view["service_chart"])
    plain = {"proposed": with_breaks.as_dict(), "active": with_breaks.as_dict(), "window": {}}
    assert "Erlang A" not in str(with_erlang_a(simulation_view(plain), plain)["service_chart"])
    assert any("erlang a" in str(row).lower() for row in view["rows"])   # the summary table shows both models


# --- the agent timeline -----------------------------------------------------------------------------------------------

def test_agent_timeline_marks_breaks_decisions_and_reports_with_a_text_alternative():
    series = [{"at": (T0 + minutes(15 * i)).isoformat(), "load": 0.5 * i} for i in range(9)]
    detail = {"agent_id": "ag_1", "name": "Maria <b>", "threshold": 2.5, "series": series}
    breaks = [{"started_at": (T0 + minutes(60)).isoformat(), "ended_at": (T0 + minutes(70)).isoformat(),
               "ends_at": None, "rule": "heavy load", "minutes": 10}]
    decisions = [{"decided_at": (T0 + minutes(55)).isoformat(), "outcome": "deferred", "rule": "heavy load",
                  "reasons": ["deferred: service level: predicted 70%"]},
                 {"decided_at": (T0 + minutes(60)).isoformat(), "outcome": "granted", "rule": "heavy load",
                  "reasons": ["granted: 10 min break now"]}]
    reports = [{"at": (T0 + minutes(50)).isoformat(), "note": "shouted at <me>"}]
    chart, events = agent_timeline(detail, breaks=breaks, decisions=decisions, reports=reports)
    svg = str(chart)
    assert svg.count('class="marker-break"') == 1 and svg.count("marker-decision") == 2
    assert 'class="marker-rattled"' in svg and "&lt;me&gt;" in svg and "Maria &lt;b&gt;" in svg
    assert [at for at, _ in events] == ["14:50", "14:55", "15:00", "15:00"]
    assert events[0][1] == "said a call rattled them: “shouted at <me>”"
    assert "<desc>" in svg and "said a call rattled them" in svg.split("<desc>")[1].split("</desc>")[0]
    assert "no data" in str(timeline_chart([], title="empty"))


def test_simulation_replays_rattled_reports_for_agent_reported_rules():
    agents = ["ag_1", "ag_2"]
    items = [RecordedInteraction(a, T0 + minutes(m), CALM) for a in agents for m in (0, 10)]
    items.append(RecordedInteraction("ag_1", T0 + minutes(11), agent_reported=True))
    rule_set = load_rule_set({"rules": [REPORTED], "guards": {"service_level": None}})
    result = simulate(rule_set, items, agents, None, T0, T0 + minutes(60))
    assert result.outcomes["requests"] == 1 and result.breaks_per_agent == {"ag_1": 1, "ag_2": 0}
    assert result.peak_load["ag_1"] > result.peak_load["ag_2"] + 0.9   # the report's weight counts
    plain = simulate(load_rule_set({"rules": [], "guards": {"service_level": None}}), items, agents, None, T0,
                     T0 + minutes(60))
    assert plain.outcomes["requests"] == 0


def test_agent_shifts_are_the_days_agents_worked():
    items = [RecordedInteraction("ag_1", T0 + timedelta(days=2, minutes=m), ABUSIVE) for m in (0, 2, 4)]
    result = simulate(load_rule_set({"rules": []}), items, ["ag_1"], None, T0, T0 + timedelta(days=3))
    assert list(result.unrelieved_minutes) == [("ag_1", (T0 + timedelta(days=2)).date())]
    assert result.unrelieved_minutes[("ag_1", (T0 + timedelta(days=2)).date())] > 0
