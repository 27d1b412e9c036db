"""The rule editor's form (aftercare.dashboard.rule_editor) built from the rule schema (wellbeing.rule_fields):
pure, no Flask, no database."""
from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from aftercare.dashboard import rule_editor
from wellbeing.rule_fields import canonical_rule_document, describe, rule_form_spec
from wellbeing.rule_schema import dump_rule_set, load_rule_set
from wellbeing.rules import CONDITIONS, DEFAULT_RULE_SET

SPEC = rule_form_spec()
DEFAULT = dump_rule_set(DEFAULT_RULE_SET)


def test_the_form_offers_every_condition_the_evaluator_knows_with_the_validators_limits():
    when = {spec.name: spec for spec in SPEC["when"]}
    assert set(CONDITIONS) <= set(when)
    assert when["signals_any"].kind == "names" and when["load_at_least"].kind == "number"
    assert (when["consecutive_negative_at_least"].kind, when["consecutive_negative_at_least"].minimum) == ("integer", 1)
    then = {spec.name: spec for spec in SPEC["then"]}
    assert then["break_minutes"].required and (then["break_minutes"].minimum, then["break_minutes"].maximum) == (1, 120)
    assert then["start"].kind == "choice" and then["start"].choices == ("after_current", "now")
    level = next(spec for spec in SPEC["guards"] if spec.name == "service_level")
    assert level.kind == "group" and level.nullable and [c.name for c in level.children][:2] == \
        ["target", "answer_within_seconds"]


def test_fields_added_to_the_schema_come_with_the_right_input():
    class Later(Schema):  # what another change may add: a yes/no condition, a choice, a nested group
        agent_reported = fields.Boolean()
        model = fields.String(load_default="erlang_c", validate=validate.OneOf(["erlang_c", "erlang_a"]))
        patience_seconds = fields.Integer(validate=validate.Range(min=1, max=3600))

    spec = {s.name: s for s in describe(Later)}
    assert spec["agent_reported"].kind == "boolean" and spec["model"].kind == "choice"
    assert spec["model"].default == "erlang_c" and spec["patience_seconds"].maximum == 3600
    view = rule_editor.editor_view({"rules.0.when.agent_reported": "true", "rules.0.name": "x"}, 1,
                                   {**SPEC, "when": tuple(spec.values())}, {}, [])
    reported = view["rules"][0].conditions[0]
    assert reported.label == "The agent said the interaction rattled them"
    assert reported.choices == [("true", "yes"), ("false", "no")] and reported.blank == "not used"
    assert view["rules"][0].conditions[2].unit == "seconds"  # words from the name when none are written yet
    assert rule_editor.convert("boolean", "true") is True


def test_a_document_round_trips_through_the_form():
    values, count = rule_editor.values_from_document(DEFAULT)
    assert count == 3 and values["rules.0.when.signals_any"] == "abusive_language"
    assert values["guards.service_level"] == "on" and values["guards.service_level.target"] == "0.8"
    document = rule_editor.document_from_values(values, count, SPEC)
    assert canonical_rule_document(document) == DEFAULT


def test_blank_conditions_are_left_out_and_an_unticked_guard_is_off():
    values = {"rules.0.name": "n", "rules.0.when.load_at_least": "3", "rules.0.when.signals_any": " ",
              "rules.0.then.break_minutes": "6", "guards.service_level.target": "0.9"}
    document = rule_editor.document_from_values(values, 1, SPEC, team="billing-emea")
    assert document["rules"][0]["when"] == {"load_at_least": 3}
    assert document["guards"] == {"service_level": None} and document["scope"] == {"team": "billing-emea"}
    assert load_rule_set(document).guards.service_level is None


def test_what_does_not_convert_is_passed_on_so_the_schema_names_the_field():
    values, count = rule_editor.values_from_document(DEFAULT)
    values.update({"rules.0.then.break_minutes": "8.5", "rules.1.when.load_at_least": "lots",
                   "guards.max_breaks_per_shift": "nan"})
    document = rule_editor.document_from_values(values, count, SPEC)
    with pytest.raises(ValidationError) as error:
        load_rule_set(document)
    assert set(error.value.messages) == {"rules.0.then.break_minutes", "rules.1.when.load_at_least",
                                         "guards.max_breaks_per_shift"}
    assert rule_editor.convert("number", "inf") == "inf" and rule_editor.convert("number", "2.5") == 2.5
    assert rule_editor.convert("names", "a, ,b") == ["a", "b"]


def test_add_remove_and_move_rules():
    values, count = rule_editor.values_from_document(DEFAULT)
    names = lambda v, n: [v.get(f"rules.{i}.name") for i in range(n)]  # noqa: E731
    added, count2, focus = rule_editor.apply_structural("add_rule", values, count)
    assert names(added, count2) == ["after abuse", "heavy load", "three rough in a row", "new rule 4"]
    assert added["rules.3.then.break_minutes"] == "5" and focus == "rules-3-name"
    moved, _, focus = rule_editor.apply_structural("up-3", added, count2)
    assert names(moved, 4) == ["after abuse", "heavy load", "new rule 4", "three rough in a row"]
    assert moved["rules.3.when.consecutive_negative_at_least"] == "3" and "rules.2.when.consecutive_negative_at_least" \
        not in moved and focus == "rule-2-up"
    top, _, _ = rule_editor.apply_structural("up-0", moved, 4)
    assert top == moved  # the first rule cannot go higher
    removed, count3, focus = rule_editor.apply_structural("remove-0", moved, 4)
    assert count3 == 3 and names(removed, 3) == ["heavy load", "new rule 4", "three rough in a row"]
    assert "rules.3.name" not in removed and focus == "rules-0-name"
    assert removed["guards.max_breaks_per_shift"] == "6"  # guards untouched
    assert not rule_editor.is_structural("remove-x") and rule_editor.is_structural("down-2")


def test_errors_land_on_their_inputs_and_read_in_words():
    values, count = rule_editor.values_from_document(DEFAULT)
    errors = {"rules.0.then.break_minutes": ["Must be between 1 and 120."], "rules.1.when": ["At least one."],
              "guards.service_level.target": ["Too high."]}
    view = rule_editor.editor_view(values, count, SPEC, errors, ["s0", "s1", "s2"])
    minutes = next(i for i in view["rules"][0].action if i.path == "rules.0.then.break_minutes")
    assert minutes.errors == ["Must be between 1 and 120."] and minutes.id == "rules-0-then-break_minutes"
    assert view["rules"][1].condition_errors == ["At least one."] and view["rules"][1].sentence == "s1"
    level = next(i for i in view["guards"] if i.path == "guards.service_level")
    assert level.children[0].errors == ["Too high."]
    assert rule_editor.error_location("rules.0.then.break_minutes", DEFAULT) == "Rule 1 “after abuse”, Break length"
    assert rule_editor.error_location("rules.1.when", DEFAULT) == "Rule 2 “heavy load”, conditions"
    assert rule_editor.error_location("guards.service_level.target") == "Guards, Service-level target"
