"""Break rules, their changes and the simulation in a manager's words (aftercare.dashboard.wording): pure, no Flask."""
from __future__ import annotations

import pytest

from aftercare.dashboard.wording import (
    FIELDS,
    change_sentences,
    field_words,
    guard_sentences,
    measure_label,
    rule_sentence,
)
from wellbeing.rule_schema import dump_rule_set
from wellbeing.rules import DEFAULT_RULE_SET

ABUSE = {"name": "after abuse", "when": {"signals_any": ["abusive_language"]},
         "then": {"break_minutes": 8, "start": "after_current"}}


def test_a_rule_reads_as_a_sentence():
    assert rule_sentence(ABUSE) == ("After an interaction with abusive language, an 8-minute break once the current "
                                    "interaction ends")
    assert rule_sentence({"when": {"consecutive_negative_at_least": 3}, "then": {"break_minutes": 7, "start": "now"}}) \
        == "After 3 rough interactions in a row, a 7-minute break straight away"
    both = rule_sentence({"when": {"load_at_least": 2.5, "category_in": ["billing", "refunds"]},
                          "then": {"break_minutes": 11}})
    assert both == ("When the agent's load is at least 2.5 and after an interaction about billing or refunds, "
                    "an 11-minute break once the current interaction ends")


@pytest.mark.parametrize("when, phrase", [
    ({"agent_reported": True}, "When the agent says an interaction rattled them"),
    ({"sentiment_at_most": -0.5}, "When the customer's sentiment is at most −0.5"),
    ({"duration_over_norm_at_least": 1.5}, "When an interaction takes at least 1.5× its category's usual time"),
    ({"signals_any": ["abusive_language", "threatened_churn", "shouting"]},
     "After an interaction with abusive language, a threat to leave or shouting"),
    ({"queue_wait_at_least_seconds": 30}, "When queue wait at least seconds is 30 s"),  # a condition not known yet
])
def test_every_condition_reads_sensibly_even_one_added_later(when, phrase):
    assert rule_sentence({"when": when, "then": {"break_minutes": 5}}).startswith(phrase + ", a 5-minute break")


def test_every_condition_of_the_evaluator_has_its_own_words():
    from wellbeing.rules import CONDITIONS

    for name in CONDITIONS:
        assert f"when.{name}" in FIELDS, name


def test_guards_read_as_sentences_with_units():
    sentences = guard_sentences(dump_rule_set(DEFAULT_RULE_SET)["guards"])
    assert sentences == [
        "At most 6 breaks per agent per shift",
        "At least 20 minutes between two breaks of one agent",
        "At most 20 % of the team on a break at once",
        "Keep the predicted service level at 80 % of calls answered within 20 s",
        "A break held back for the service level waits at most 10 minutes, then is granted anyway and escalated",
        "Escalations go to team lead",
    ]
    erlang_a = guard_sentences({"service_level": {"target": 0.9, "answer_within_seconds": 30, "model": "erlang_a",
                                                  "patience_seconds": 120}})
    assert erlang_a == ["Keep the predicted service level at 90 % of calls answered within 30 s",
                        "Service level modelled with Erlang A, callers' patience 120 s"]
    assert guard_sentences({"service_level": {"target": 0.8, "answer_within_seconds": 20, "model": "erlang_c"}})[1] \
        == "Service level modelled with Erlang C"
    assert guard_sentences({"service_level": None}) == [
        "No service-level guard: breaks are not held back for the queue"]
    assert guard_sentences({"cooldown_minutes": 10, "max_calls": 3}) == ["Cooldown minutes: 10 minutes", "Max calls: 3"]


def test_a_version_change_reads_per_rule_and_guard():
    before = {"rules": [{**ABUSE, "then": {"break_minutes": 12, "start": "after_current"}},
                        {"name": "heavy load", "when": {"load_at_least": 2.5}, "then": {"break_minutes": 10}},
                        {"name": "gone", "when": {"load_at_least": 4}, "then": {"break_minutes": 3}}],
              "guards": {"max_team_fraction_on_break": 0.2, "service_level": {"target": 0.8}}}
    after = {"rules": [{"name": "heavy load", "when": {"load_at_least": 2.2, "sentiment_at_most": -0.5},
                        "then": {"break_minutes": 10, "start": "now"}},
                       ABUSE,
                       {"name": "rattled", "when": {"agent_reported": True}, "then": {"break_minutes": 5}}],
             "guards": {"max_team_fraction_on_break": 0.25, "service_level": None}}
    assert change_sentences(before, after) == [
        "heavy load: load at least 2.5 → 2.2",
        "heavy load: added condition “when the customer's sentiment is at most −0.5”",
        "heavy load: start none → straight away",
        "after abuse: break 12 → 8 minutes",
        "new rule “rattled”: When the agent says an interaction rattled them, a 5-minute break once the current "
        "interaction ends",
        "removed rule “gone”",
        "rule order: after abuse, heavy load → heavy load, after abuse",
        "team share on break 20 % → 25 %",
        "service-level guard turned off",
    ]


def test_guard_changes_inside_the_service_level_and_unknown_ones():
    before = {"rules": [], "guards": {"service_level": {"target": 0.8, "answer_within_seconds": 20}}}
    after = {"rules": [], "guards": {"service_level": {"target": 0.85, "answer_within_seconds": 20,
                                                       "model": "erlang_a", "patience_seconds": 90},
                                     "cooldown_seconds": 30}}
    assert change_sentences(before, after) == ["service-level target 80 % → 85 %", "queue model none → Erlang A",
                                               "callers' patience none → 90 s", "cooldown seconds none → 30 s"]
    assert change_sentences(after, after) == []


def test_simulation_measures_have_plain_labels():
    assert measure_label("outcomes.requests")[0] == "Breaks the rules asked for"
    assert measure_label("outcomes.still_deferred")[0] == "Breaks still waiting when the window ended"
    assert measure_label("outcomes.bounced_back") == ("Bounced back (outcomes)", "")
    for key in ("load_threshold", "outcomes.granted", "outcomes.deferred", "outcomes.escalated", "outcomes.refused",
                "total_minutes_off_queue"):
        label, _ = measure_label(key)
        assert "_" not in label and "." not in label, key


def test_unknown_fields_get_words_from_their_name():
    assert field_words("guards.service_level.patience_seconds").unit == "seconds"
    assert field_words("guards.quiet_minutes").label == "Quiet minutes" and field_words("guards.quiet_minutes").unit \
        == "minutes"
