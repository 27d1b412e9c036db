"""Planner guards and the replay simulation, as scenarios a workforce manager would recognise."""
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from wellbeing.load import AgentLoad, InteractionSignals, add, interaction_weight
from wellbeing.planner import DEFERRED, ESCALATED, GRANTED, REFUSED, BreakRequest, TeamSnapshot, concurrency_cap, decide
from wellbeing.rule_schema import dump_rule_set, load_rule_set
from wellbeing.rules import DEFAULT_RULE_SET, AgentSituation, Guards, evaluate, is_negative
from wellbeing.simulation import RecordedInteraction, simulate

T0 = datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc)
NO_SL = replace(DEFAULT_RULE_SET.guards, service_level=None)
ABUSIVE = InteractionSignals(sentiment=-0.8, signals=("abusive_language",), resolution="unresolved")
ROUGH = InteractionSignals(sentiment=-0.6, resolution="resolved")
CALM = InteractionSignals(sentiment=0.4, resolution="resolved", duration_seconds=240)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def request(agent: str = "ag_1", *, at: datetime = T0) -> BreakRequest:
    return BreakRequest(agent_id=agent, team="billing-emea", rule_name="after abuse", minutes=5,
                        start="after_current", requested_at=at,
                        reasons=("rule 'after abuse': signals abusive_language",))


def snapshot(**changes) -> TeamSnapshot:
    base = TeamSnapshot(team_size=20, available=20, on_break=0, arrival_rate_per_s=0.01, aht_s=300)
    return replace(base, **changes)


def after_interactions(signals_list, *, at=T0):
    """Run interactions through the load model and rules the way the service layer does."""
    load, streak, match = AgentLoad(0.0, at), 0, None
    for index, signals in enumerate(signals_list):
        moment = at + minutes(6 * index)
        load = add(load, interaction_weight(signals).total, moment)
        streak = streak + 1 if is_negative(signals) else 0
        match = evaluate(DEFAULT_RULE_SET, AgentSituation.after(signals, load=load.value, consecutive_negative=streak))
    return match, moment


# --- scenarios ------------------------------------------------------------------------------------------------

def test_abusive_interaction_gets_a_five_minute_break_after_the_current_one():
    match, at = after_interactions([CALM, ABUSIVE])
    wanted = BreakRequest.from_match(match, agent_id="ag_1", team="billing-emea", at=at)
    decision = decide(wanted, snapshot(), DEFAULT_RULE_SET.guards, at)
    assert (wanted.minutes, wanted.start) == (5, "after_current")
    assert decision.outcome == GRANTED and decision.starts_at == at
    assert decision.reasons == ("rule 'after abuse': signals abusive_language",
                                "granted: 5 min break after the current interaction")


def test_three_rough_in_a_row_gets_the_configured_break():
    match, at = after_interactions([ROUGH, ROUGH])
    assert match is None
    match, at = after_interactions([CALM, ROUGH, ROUGH, ROUGH])
    assert match.rule.name == "three rough in a row"
    decision = decide(BreakRequest.from_match(match, agent_id="ag_1", team=None, at=at), snapshot(),
                      DEFAULT_RULE_SET.guards, at)
    assert decision.outcome == GRANTED
    assert "granted: 7 min break after the current interaction" in decision.reasons


def test_concurrency_cap_grants_one_and_the_others_in_turn_as_breaks_end():
    """5 agents, 20 % may be on break, three triggers at once: one now, the others as each break ends."""
    waiting = [request(agent) for agent in ("ag_1", "ag_2", "ag_3")]
    ends: dict[str, datetime] = {}
    started: dict[str, datetime] = {}
    first_outcomes = {}
    for minute in range(0, 30):
        now = T0 + minutes(minute)
        ends = {agent: end for agent, end in ends.items() if end > now}
        for wanted in list(waiting):
            state = TeamSnapshot(team_size=5, available=5, on_break=len(ends))
            decision = decide(wanted, state, NO_SL, now)
            first_outcomes.setdefault(wanted.agent_id, decision.outcome)
            if decision.outcome == DEFERRED:
                assert decision.retry_at == now + minutes(1)
                assert "deferred: team concurrency cap: 1 of 1 allowed already on break" in decision.reasons
                continue
            assert decision.outcome == GRANTED
            started[wanted.agent_id], ends[wanted.agent_id] = now, now + minutes(wanted.minutes)
            waiting.remove(wanted)
    assert first_outcomes == {"ag_1": GRANTED, "ag_2": DEFERRED, "ag_3": DEFERRED}
    assert started == {"ag_1": T0, "ag_2": T0 + minutes(5), "ag_3": T0 + minutes(10)}


def test_tight_service_level_defers_then_escalates_after_max_deferral():
    tight = TeamSnapshot(team_size=12, available=12, on_break=0, arrival_rate_per_s=10 / 300, aht_s=300)
    guards = DEFAULT_RULE_SET.guards
    wanted = request()
    deferred = decide(wanted, tight, guards, T0)
    assert deferred.outcome == DEFERRED and deferred.starts_at is None
    assert deferred.retry_at == T0 + minutes(1)
    assert any(reason.startswith("deferred: service level: predicted") and "with 11 agents answering" in reason
               for reason in deferred.reasons)
    assert decide(wanted, tight, guards, T0 + minutes(9)).outcome == DEFERRED
    escalated = decide(wanted, tight, guards, T0 + minutes(10))
    assert escalated.outcome == ESCALATED and escalated.takes_break
    assert escalated.starts_at == T0 + minutes(10)
    assert escalated.escalate_to == "team_lead"
    assert escalated.reasons[-1] == "deferred 10 min (max 10): granted anyway, escalated to team_lead"


def test_relaxed_service_level_grants():
    relaxed = TeamSnapshot(team_size=12, available=12, on_break=0, arrival_rate_per_s=5 / 300, aht_s=300)
    assert decide(request(), relaxed, DEFAULT_RULE_SET.guards, T0).outcome == GRANTED


# --- individual guards ------------------------------------------------------------------------------------------

def test_per_shift_cap_refuses_with_a_reason():
    decision = decide(request(), snapshot(agent_breaks_this_shift=6), DEFAULT_RULE_SET.guards, T0)
    assert decision.outcome == REFUSED and decision.starts_at is None and decision.retry_at is None
    assert decision.reasons[-1] == "per-shift cap: 6 of 6 breaks taken"
    assert decision.guard == "shift_cap" and decision.detail == {"taken": 6, "cap": 6}


def test_spacing_defers_until_exactly_when_it_allows():
    recent = snapshot(agent_last_break_ended_at=T0 - minutes(15))
    decision = decide(request(), recent, NO_SL, T0)
    assert decision.outcome == DEFERRED and decision.guard == "spacing"
    assert decision.retry_at == T0 + minutes(5)
    assert decision.reasons[-1] == "deferred: spacing: last break ended 15 min ago, 20 min required"
    assert decide(request(), recent, NO_SL, T0 + minutes(5)).outcome == GRANTED


def test_spacing_longer_than_max_deferral_escalates_instead_of_dropping():
    just_back = snapshot(agent_last_break_ended_at=T0 - minutes(1))
    first = decide(request(), just_back, NO_SL, T0)
    assert first.retry_at == T0 + minutes(10)
    assert decide(request(), just_back, NO_SL, first.retry_at).outcome == ESCALATED


def test_retry_never_later_than_the_escalation_deadline():
    wanted = request(at=T0 - minutes(9) - timedelta(seconds=30))
    decision = decide(wanted, snapshot(on_break=4), NO_SL, T0)
    assert decision.retry_at == wanted.requested_at + minutes(10)
    assert decision.guard == "concurrency" and decision.detail["cap"] == 4


@pytest.mark.parametrize(("fraction", "team", "cap"), [(0.2, 5, 1), (0.2, 4, 1), (0.0, 3, 1), (0.29, 100, 29),
                                                      (0.2, 50, 10), (1.0, 7, 7)])
def test_concurrency_cap_is_floor_of_fraction_at_least_one(fraction, team, cap):
    assert concurrency_cap(Guards(max_team_fraction_on_break=fraction), team) == cap


def test_as_dict_is_json_ready():
    decision = decide(request(), snapshot(on_break=4), NO_SL, T0)
    assert json.loads(json.dumps(decision.as_dict())) == {
        "outcome": "deferred", "starts_at": None, "reasons": list(decision.reasons),
        "retry_at": (T0 + minutes(1)).isoformat(), "escalate_to": None}


# --- simulation ---------------------------------------------------------------------------------------------------

def team_day(*extra):
    agents = [f"ag_{i}" for i in range(1, 6)]
    calm = [RecordedInteraction(agent, T0 - minutes(30), CALM) for agent in agents]
    return agents, sorted(calm + list(extra), key=lambda item: item.at)


def test_simulation_replays_the_concurrency_scenario():
    abusive = [RecordedInteraction(agent, T0, ABUSIVE) for agent in ("ag_1", "ag_2", "ag_3")]
    agents, items = team_day(*abusive)
    no_sl = load_rule_set({**_default_dict(), "guards": {**_default_dict()["guards"], "service_level": None}})
    result = simulate(no_sl, items, agents, "billing-emea", T0 - minutes(60), T0 + minutes(60))
    assert result.outcomes == {"requests": 3, "granted": 3, "deferred": 2, "escalated": 0, "refused": 0,
                               "still_deferred": 0}
    assert result.breaks_per_agent == {"ag_1": 1, "ag_2": 1, "ag_3": 1, "ag_4": 0, "ag_5": 0}
    assert result.minutes_off_queue["ag_1"] == 5 and sum(result.minutes_off_queue.values()) == 15
    assert result.peaked_without_break == ()


def test_simulation_reports_agents_over_threshold_without_a_break():
    capped = load_rule_set({**_default_dict(), "guards": {**_default_dict()["guards"], "max_breaks_per_shift": 1}})
    heavy = InteractionSignals(sentiment=-1.0, signals=("threatened_churn",), resolution="unresolved",
                               escalated_from_bot=True)
    rough_day = [RecordedInteraction("ag_1", T0 + minutes(m), heavy) for m in (0, 2, 20, 22)]
    agents, items = team_day(*rough_day)
    result = simulate(capped, items, agents, None, T0 - minutes(60), T0 + minutes(120))
    assert result.breaks_per_agent["ag_1"] == 1
    assert result.outcomes[REFUSED] >= 1
    assert result.peak_load["ag_1"] >= 2.5
    assert result.minutes_above_threshold["ag_1"] > 0
    assert result.minutes_above_threshold["ag_2"] == 0
    assert result.peaked_without_break == ("ag_1",)
    default = simulate(DEFAULT_RULE_SET, items, agents, None, T0 - minutes(60), T0 + minutes(120))
    assert default.breaks_per_agent["ag_1"] == 2 and default.outcomes[ESCALATED] == 1
    assert default.peaked_without_break == ()
    no_rules = simulate(load_rule_set({"rules": []}), items, agents, None, T0 - minutes(60), T0 + minutes(120))
    assert no_rules.peaked_without_break == ("ag_1",)
    assert no_rules.outcomes["requests"] == 0


def test_simulation_is_deterministic_and_json_ready():
    abusive = [RecordedInteraction(f"ag_{i}", T0 + minutes(i), ABUSIVE) for i in range(1, 6)]
    agents, items = team_day(*abusive)
    first = simulate(DEFAULT_RULE_SET, items, agents, "t", T0 - minutes(60), T0 + minutes(180))
    second = simulate(DEFAULT_RULE_SET, list(reversed(items)), agents, "t", T0 - minutes(60), T0 + minutes(180))
    assert first == second
    data = json.loads(json.dumps(first.as_dict()))
    assert [row["hour"] for row in data["service_level_by_hour"]] == [
        (T0 - minutes(60) + timedelta(hours=h)).isoformat() for h in range(4)]
    assert data["service_level_by_hour"][2]["predicted_service_level"] is None
    assert 0.0 <= data["service_level_by_hour"][1]["predicted_service_level"] <= 1.0
    assert data["outcomes"]["requests"] == 5


def test_simulation_ignores_interactions_outside_the_window():
    agents, items = team_day(RecordedInteraction("ag_1", T0 + minutes(90), ABUSIVE))
    result = simulate(DEFAULT_RULE_SET, items, agents, None, T0 - minutes(60), T0 + minutes(60))
    assert result.outcomes["requests"] == 0


def _default_dict() -> dict:
    return dump_rule_set(DEFAULT_RULE_SET)
