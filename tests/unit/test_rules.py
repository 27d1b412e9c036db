"""Break rule sets: validation errors by field path, exact round trips, and pure evaluation."""
import copy
import json

import pytest
from hypothesis import given, settings, strategies as st
from marshmallow import ValidationError

from aftercare.core.problems import errors_by_field
from wellbeing.load import InteractionSignals
from wellbeing.rule_schema import RuleSetSchema, dump_rule_set, load_rule_set
from wellbeing.rules import DEFAULT_RULE_SET, AgentSituation, Guards, Scope, evaluate, is_negative, load_threshold

SPEC_EXAMPLE = json.loads("""
{"rules": [
  {"name": "after abuse", "when": {"signals_any": ["abusive_language"]},
   "then": {"break_minutes": 5, "start": "after_current"}},
  {"name": "heavy load", "when": {"load_at_least": 2.5}, "then": {"break_minutes": 10, "start": "after_current"}},
  {"name": "three rough in a row", "when": {"consecutive_negative_at_least": 3}, "then": {"break_minutes": 7}}],
 "guards": {"max_breaks_per_shift": 4, "min_minutes_between_breaks": 45, "max_team_fraction_on_break": 0.2,
   "service_level": {"target": 0.8, "answer_within_seconds": 20}, "max_deferral_minutes": 20,
   "escalate_to": "team_lead"},
 "scope": {"team": "billing-emea"}}
""")


def spec(**changes) -> dict:
    data = copy.deepcopy(SPEC_EXAMPLE)
    data.update(changes)
    return data


def errors_of(data) -> dict:
    with pytest.raises(ValidationError) as caught:
        load_rule_set(data)
    return caught.value.messages


# --- loading and round trips --------------------------------------------------------------------------------

def test_spec_example_loads():
    rule_set = load_rule_set(SPEC_EXAMPLE)
    assert [rule.name for rule in rule_set.rules] == ["after abuse", "heavy load", "three rough in a row"]
    assert rule_set.rules[0].when.signals_any == ("abusive_language",)
    assert rule_set.rules[2].then.start == "after_current"
    assert rule_set.guards.service_level.target == 0.8
    assert rule_set.scope == Scope(team="billing-emea")


def test_dump_is_the_canonical_form_of_the_input():
    canonical = copy.deepcopy(SPEC_EXAMPLE)
    canonical["rules"][2]["then"]["start"] = "after_current"
    assert dump_rule_set(load_rule_set(SPEC_EXAMPLE)) == canonical
    assert json.loads(json.dumps(dump_rule_set(load_rule_set(canonical)))) == canonical


def test_default_rule_set_is_the_spec_example_without_scope_with_the_guards_the_bench_chose():
    """The guards were the SPEC example's (4 a shift, 45 min apart, deferred ≤ 20 min) until the simulated week of
    bench/planner.py (docs/wellbeing.md, "Choosing the default") showed 6, 20 and 10 protect agents better."""
    assert DEFAULT_RULE_SET.scope.team is None
    without_scope = {key: value for key, value in SPEC_EXAMPLE.items() if key != "scope"}
    without_scope["guards"] = {**without_scope["guards"], "max_breaks_per_shift": 6, "min_minutes_between_breaks": 20,
                               "max_deferral_minutes": 10}
    assert DEFAULT_RULE_SET == load_rule_set(without_scope)
    assert load_rule_set({"rules": []}).guards == DEFAULT_RULE_SET.guards
    assert "scope" not in dump_rule_set(DEFAULT_RULE_SET)


def test_guards_scope_and_service_level_are_optional():
    rule_set = load_rule_set({"rules": [{"name": "r", "when": {"load_at_least": 3}, "then": {"break_minutes": 5}}]})
    assert rule_set.guards == Guards()
    assert rule_set.scope.team is None
    no_sl = load_rule_set(spec(guards={"service_level": None}))
    assert no_sl.guards.service_level is None
    assert load_rule_set(dump_rule_set(no_sl)) == no_sl


def test_empty_rule_list_is_allowed():
    assert load_rule_set({"rules": []}).rules == ()


names = st.text(alphabet="abcdefgh -", min_size=1, max_size=12)
when_strategy = st.fixed_dictionaries({}, optional={
    "signals_any": st.lists(names, min_size=1, max_size=3),
    "load_at_least": st.floats(min_value=0, max_value=20),
    "consecutive_negative_at_least": st.integers(min_value=1, max_value=10),
    "sentiment_at_most": st.floats(min_value=-1, max_value=1),
    "category_in": st.lists(names, min_size=1, max_size=3),
    "duration_over_norm_at_least": st.floats(min_value=0, max_value=10),
}).filter(bool)
rule_set_strategy = st.fixed_dictionaries({
    "rules": st.lists(st.fixed_dictionaries({
        "name": names, "when": when_strategy,
        "then": st.fixed_dictionaries({"break_minutes": st.integers(min_value=1, max_value=120),
                                       "start": st.sampled_from(["after_current", "now"])})}),
        max_size=5, unique_by=lambda rule: rule["name"]),
    "guards": st.fixed_dictionaries({
        "max_breaks_per_shift": st.integers(min_value=1, max_value=20),
        "min_minutes_between_breaks": st.integers(min_value=0, max_value=600),
        "max_team_fraction_on_break": st.floats(min_value=0, max_value=1),
        "service_level": st.none() | st.fixed_dictionaries({
            "target": st.floats(min_value=0, max_value=1),
            "answer_within_seconds": st.integers(min_value=0, max_value=600)}),
        "max_deferral_minutes": st.integers(min_value=0, max_value=240),
        "escalate_to": names}),
}, optional={"scope": st.fixed_dictionaries({"team": names})})


@settings(max_examples=150)
@given(data=rule_set_strategy)
def test_any_valid_rule_set_round_trips_exactly(data):
    rule_set = load_rule_set(data)
    assert dump_rule_set(rule_set) == data
    assert load_rule_set(dump_rule_set(rule_set)) == rule_set


# --- validation errors name the field --------------------------------------------------------------------------

def test_unknown_condition_names_its_path():
    data = spec()
    data["rules"][2]["when"]["typo_condition"] = 1
    assert errors_of(data) == {"rules.2.when.typo_condition": ["Unknown field."]}


def test_rule_needs_at_least_one_condition():
    data = spec()
    data["rules"][0]["when"] = {}
    assert list(errors_of(data)) == ["rules.0.when"]


@pytest.mark.parametrize(("then", "field"), [
    ({"break_minutes": -5}, "rules.0.then.break_minutes"),
    ({"break_minutes": 0}, "rules.0.then.break_minutes"),
    ({"break_minutes": 121}, "rules.0.then.break_minutes"),
    ({"break_minutes": 2.5}, "rules.0.then.break_minutes"),
    ({"break_minutes": "5"}, "rules.0.then.break_minutes"),
    ({}, "rules.0.then.break_minutes"),
    ({"break_minutes": 5, "start": "tomorrow"}, "rules.0.then.start"),
    ({"break_minutes": 5, "sound": "gong"}, "rules.0.then.sound"),
])
def test_bad_then_names_the_field(then, field):
    data = spec()
    data["rules"][0]["then"] = then
    assert list(errors_of(data)) == [field]


@pytest.mark.parametrize(("when", "field"), [
    ({"signals_any": []}, "rules.1.when.signals_any"),
    ({"signals_any": "abusive_language"}, "rules.1.when.signals_any"),
    ({"signals_any": [3]}, "rules.1.when.signals_any.0"),
    ({"load_at_least": -1}, "rules.1.when.load_at_least"),
    ({"load_at_least": "2.5"}, "rules.1.when.load_at_least"),
    ({"load_at_least": True}, "rules.1.when.load_at_least"),
    ({"load_at_least": float("nan")}, "rules.1.when.load_at_least"),
    ({"consecutive_negative_at_least": 0}, "rules.1.when.consecutive_negative_at_least"),
    ({"sentiment_at_most": -1.5}, "rules.1.when.sentiment_at_most"),
    ({"category_in": []}, "rules.1.when.category_in"),
    ({"duration_over_norm_at_least": -0.1}, "rules.1.when.duration_over_norm_at_least"),
])
def test_bad_condition_names_the_field(when, field):
    data = spec()
    data["rules"][1]["when"] = when
    assert list(errors_of(data)) == [field]


@pytest.mark.parametrize(("guards", "field"), [
    ({"max_team_fraction_on_break": 1.5}, "guards.max_team_fraction_on_break"),
    ({"service_level": {"target": 1.2}}, "guards.service_level.target"),
    ({"service_level": {"answer_within_seconds": -1}}, "guards.service_level.answer_within_seconds"),
    ({"min_minutes_between_breaks": -1}, "guards.min_minutes_between_breaks"),
    ({"max_deferral_minutes": -1}, "guards.max_deferral_minutes"),
    ({"max_breaks_per_shift": 0}, "guards.max_breaks_per_shift"),
    ({"escalate_to": ""}, "guards.escalate_to"),
    ({"max_coffee": 3}, "guards.max_coffee"),
])
def test_bad_guard_names_the_field(guards, field):
    assert list(errors_of(spec(guards=guards))) == [field]


def test_duplicate_rule_names_point_at_the_second():
    data = spec()
    data["rules"][2]["name"] = "after abuse"
    assert errors_of(data) == {"rules.2.name": ["Duplicate rule name: 'after abuse'."]}


def test_every_error_is_reported_at_once():
    data = spec(extra=True)
    data["rules"][0]["then"]["break_minutes"] = -1
    data["guards"]["max_team_fraction_on_break"] = 2
    assert set(errors_of(data)) == {"extra", "rules.0.then.break_minutes", "guards.max_team_fraction_on_break"}


def test_not_an_object_is_a_schema_error():
    assert list(errors_of(["rules"])) == ["_schema"]
    assert list(errors_of({})) == ["rules"]


def test_schema_itself_keeps_marshmallow_nested_messages():
    data = spec()
    data["rules"][2]["when"]["typo_condition"] = 1
    with pytest.raises(ValidationError) as caught:
        RuleSetSchema().load(data)
    assert caught.value.messages == {"rules": {2: {"when": {"typo_condition": ["Unknown field."]}}}}
    assert errors_by_field(caught.value.messages) == {"rules.2.when.typo_condition": ["Unknown field."]}


# --- evaluation -----------------------------------------------------------------------------------------------

def test_abusive_interaction_matches_after_abuse():
    match = evaluate(DEFAULT_RULE_SET, AgentSituation(load=0.5, signals=("abusive_language",)))
    assert match.rule.name == "after abuse"
    assert (match.break_minutes, match.start) == (5, "after_current")
    assert match.reasons == ("rule 'after abuse': signals abusive_language",)


def test_heavy_load_and_streak_rules():
    heavy = evaluate(DEFAULT_RULE_SET, AgentSituation(load=2.731))
    assert heavy.rule.name == "heavy load"
    assert heavy.reasons == ("rule 'heavy load': load 2.73 ≥ 2.5",)
    streak = evaluate(DEFAULT_RULE_SET, AgentSituation(load=1.0, consecutive_negative=3))
    assert streak.rule.name == "three rough in a row" and streak.break_minutes == 7
    assert streak.reasons == ("rule 'three rough in a row': 3 negative interactions in a row (≥ 3)",)


def test_first_matching_rule_in_order_wins():
    match = evaluate(DEFAULT_RULE_SET, AgentSituation(load=9.0, consecutive_negative=5,
                                                      signals=("abusive_language",)))
    assert match.rule.name == "after abuse"


def test_no_rule_matches_a_calm_situation():
    assert evaluate(DEFAULT_RULE_SET, AgentSituation(load=2.49, consecutive_negative=2)) is None


def test_all_conditions_of_a_rule_must_hold():
    rule_set = load_rule_set({"rules": [{"name": "long sad calls", "when": {
        "sentiment_at_most": -0.5, "category_in": ["bereavement"], "duration_over_norm_at_least": 2},
        "then": {"break_minutes": 15, "start": "now"}}]})
    hit = AgentSituation(load=0.0, sentiment=-0.8, category="bereavement", duration_ratio=2.5)
    match = evaluate(rule_set, hit)
    assert match.reasons == ("rule 'long sad calls': sentiment -0.80 ≤ -0.5 and category bereavement and "
                             "duration 2.5× the category norm (≥ 2×)",)
    assert match.as_dict() == {"rule": "long sad calls", "break_minutes": 15, "start": "now",
                               "reasons": list(match.reasons)}
    assert evaluate(rule_set, AgentSituation(load=0.0, sentiment=-0.8, category="billing", duration_ratio=2.5)) is None
    assert evaluate(rule_set, AgentSituation(load=0.0, sentiment=None, category="bereavement",
                                             duration_ratio=2.5)) is None


def test_situation_after_an_interaction():
    signals = InteractionSignals(sentiment=-0.4, signals=("threatened_churn",), category="billing",
                                 duration_seconds=600, category_norm_seconds=300)
    situation = AgentSituation.after(signals, load=1.2, consecutive_negative=2)
    assert situation == AgentSituation(load=1.2, consecutive_negative=2, signals=("threatened_churn",),
                                       sentiment=-0.4, category="billing", duration_ratio=2.0)


def test_what_counts_as_negative():
    assert is_negative(InteractionSignals(sentiment=-0.3))
    assert not is_negative(InteractionSignals(sentiment=-0.2, resolution="unresolved"))
    assert is_negative(InteractionSignals(sentiment=0.5, signals=("abusive_language",)))
    assert is_negative(InteractionSignals(negative_reply=True))
    assert not is_negative(InteractionSignals(signals=("vulnerable_customer",)))


def test_load_threshold_is_the_lowest_load_rule():
    assert load_threshold(DEFAULT_RULE_SET) == 2.5
    two = load_rule_set({"rules": [
        {"name": "a", "when": {"load_at_least": 3.5}, "then": {"break_minutes": 5}},
        {"name": "b", "when": {"load_at_least": 2.0, "signals_any": ["x"]}, "then": {"break_minutes": 5}}]})
    assert load_threshold(two) == 2.0
    assert load_threshold(load_rule_set({"rules": []})) == 2.5
