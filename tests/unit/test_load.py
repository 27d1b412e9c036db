"""Load model: interaction weights, O(1) decay/add/state updates, and the 24 h series."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from wellbeing.load import (
    DEFAULT_WEIGHTS,
    ON_BREAK,
    WORKING,
    AgentLoad,
    InteractionSignals,
    LoadWeights,
    add,
    decay,
    interaction_weight,
    series,
    set_state,
    state_for_status,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# --- interaction weight ------------------------------------------------------------------------------------

def test_routine_interaction_weighs_only_the_base():
    breakdown = interaction_weight(InteractionSignals(sentiment=0.6, resolution="resolved"))
    assert breakdown.total == DEFAULT_WEIGHTS.base
    assert dict(breakdown.parts) == {"base": DEFAULT_WEIGHTS.base}


def test_rough_interaction_shows_its_parts():
    w = LoadWeights()
    signals = InteractionSignals(sentiment=-0.7, signals=("abusive_language", "threatened_churn", "vip"),
                                 escalated_from_bot=True, resolution="unresolved", duration_seconds=900,
                                 category_norm_seconds=300, negative_reply=True)
    parts = interaction_weight(signals, w).parts
    assert parts == pytest.approx({
        "base": w.base, "sentiment": 0.7 * w.sentiment, "abusive_language": w.abusive_language,
        "threatened_churn": w.threatened_churn, "escalated_from_bot": w.escalated_from_bot,
        "unresolved": w.unresolved, "duration_over_norm": 2.0 * w.duration_over_norm,
        "negative_reply": w.negative_reply})


def test_duration_over_norm_is_capped():
    w = LoadWeights(duration_over_norm=1.0, duration_ratio_cap=3.0)
    long_call = InteractionSignals(duration_seconds=3000, category_norm_seconds=300)
    short_call = InteractionSignals(duration_seconds=200, category_norm_seconds=300)
    assert interaction_weight(long_call, w).parts["duration_over_norm"] == pytest.approx(2.0)
    assert "duration_over_norm" not in interaction_weight(short_call, w).parts


def test_category_weight_multiplies_and_shows_as_a_part():
    w = LoadWeights(category_weights={"bereavement": 2.0})
    signals = InteractionSignals(sentiment=-0.5, category="bereavement")
    breakdown = interaction_weight(signals, w)
    assert breakdown.total == pytest.approx(2 * (w.base + 0.5))
    assert breakdown.parts["category"] == pytest.approx(w.base + 0.5)
    assert interaction_weight(InteractionSignals(category="other"), w).total == w.base


@settings(max_examples=200)
@given(sentiment=st.none() | st.floats(min_value=-1, max_value=1),
       signals=st.lists(st.sampled_from(["abusive_language", "threatened_churn", "vulnerable_customer"])),
       escalated=st.booleans(), resolution=st.sampled_from(["resolved", "unresolved", "workaround", "unknown"]),
       duration=st.none() | st.floats(min_value=0, max_value=10_000), multiplier=st.floats(min_value=0, max_value=5))
def test_parts_always_add_up_to_a_non_negative_total(sentiment, signals, escalated, resolution, duration, multiplier):
    w = LoadWeights(category_weights={"c": multiplier})
    breakdown = interaction_weight(InteractionSignals(
        sentiment=sentiment, signals=tuple(signals), escalated_from_bot=escalated, resolution=resolution,
        duration_seconds=duration, category="c", category_norm_seconds=300), w)
    assert breakdown.total >= 0
    assert sum(breakdown.parts.values()) == pytest.approx(breakdown.total, abs=1e-12)


def test_signals_are_validated():
    with pytest.raises(ValueError):
        InteractionSignals(sentiment=-1.5)
    with pytest.raises(ValueError):
        InteractionSignals(resolution="fixed")
    assert InteractionSignals(signals=["a"]).signals == ("a",)


def test_weights_from_config_mapping():
    assert LoadWeights.from_mapping({"base": 0.1, "half_life_working_minutes": 30}).half_life_minutes(WORKING) == 30
    with pytest.raises(ValueError, match="unknown load weight settings: typo"):
        LoadWeights.from_mapping({"typo": 1})
    with pytest.raises(ValueError):
        LoadWeights(half_life_on_break_minutes=0)


# --- decay, add, state ---------------------------------------------------------------------------------------

def test_half_life_while_working_and_on_break():
    assert decay(AgentLoad(2.0, T0, WORKING), T0 + minutes(60)).value == pytest.approx(1.0)
    assert decay(AgentLoad(2.0, T0, ON_BREAK), T0 + minutes(15)).value == pytest.approx(1.0)


def test_decay_to_an_earlier_moment_changes_nothing():
    load = AgentLoad(2.0, T0)
    assert decay(load, T0 - minutes(5)) == load


def test_break_decays_with_its_own_half_life():
    load = add(AgentLoad(0.0, T0), 4.0, T0)
    load = set_state(load, ON_BREAK, T0 + minutes(30))
    load = set_state(load, WORKING, T0 + minutes(45))
    assert load.value == pytest.approx(4.0 * 0.5 ** 0.5 * 0.5)
    assert load.state == WORKING and load.as_of == T0 + minutes(45)


def test_add_decays_first_then_adds():
    load = add(add(AgentLoad(0.0, T0), 2.0, T0), 1.0, T0 + minutes(60))
    assert load.value == pytest.approx(2.0)
    assert load.as_of == T0 + minutes(60)


def test_late_event_adds_its_decayed_weight_and_keeps_as_of():
    load = add(AgentLoad(1.0, T0 + minutes(60)), 2.0, T0)
    assert load.value == pytest.approx(2.0)
    assert load.as_of == T0 + minutes(60)


def test_late_state_change_applies_from_as_of():
    load = set_state(AgentLoad(1.0, T0 + minutes(10)), ON_BREAK, T0)
    assert (load.value, load.as_of, load.state) == (1.0, T0 + minutes(10), ON_BREAK)


def test_negative_weight_rejected():
    with pytest.raises(ValueError):
        add(AgentLoad(0.0, T0), -1.0, T0)


def test_as_of_must_be_aware_and_is_stored_in_utc():
    with pytest.raises(ValueError):
        AgentLoad(0.0, datetime(2026, 11, 25, 9, 0))
    with pytest.raises(ValueError):
        AgentLoad(0.0, T0, "offline")
    london = AgentLoad(0.0, datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/London")))
    assert london.as_of == datetime(2026, 7, 1, 9, 0, tzinfo=timezone.utc)
    assert london.as_of.tzinfo is timezone.utc


def test_routing_statuses_map_to_load_states():
    assert [state_for_status(s) for s in ("available", "busy", "wrap_up", "on_break", "offline")] == [
        WORKING, WORKING, WORKING, ON_BREAK, ON_BREAK]


events_strategy = st.lists(st.tuples(st.integers(min_value=0, max_value=24 * 60),
                                     st.floats(min_value=0, max_value=5)), min_size=1, max_size=40)


@settings(max_examples=150)
@given(events=events_strategy, state=st.sampled_from([WORKING, ON_BREAK]))
def test_o1_updates_equal_the_sum_of_decayed_weights(events, state):
    events.sort()
    load = AgentLoad(0.0, T0, state)
    for minute, weight in events:
        load = add(load, weight, T0 + minutes(minute))
    end = T0 + minutes(24 * 60 + 1)
    half_life = DEFAULT_WEIGHTS.half_life_minutes(state)
    expected = sum(weight * 0.5 ** ((24 * 60 + 1 - minute) / half_life) for minute, weight in events)
    assert decay(load, end).value == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=150)
@given(events=events_strategy, seed=st.randoms(use_true_random=False))
def test_out_of_order_events_give_the_in_order_value(events, seed):
    shuffled = list(events)
    seed.shuffle(shuffled)
    end = T0 + minutes(24 * 60)

    def replay(items):
        load = AgentLoad(0.0, T0)
        for minute, weight in items:
            load = add(load, weight, T0 + minutes(minute))
        return decay(load, end).value

    assert replay(shuffled) == pytest.approx(replay(sorted(events)), rel=1e-9, abs=1e-12)


# --- series --------------------------------------------------------------------------------------------------

def test_series_samples_every_step_and_counts_events_before_start():
    events = [(T0 - minutes(60), "interaction", 2.0), (T0 + minutes(30), "interaction", 1.0),
              (T0 + minutes(60), "state", ON_BREAK), (T0 + minutes(75), "state", WORKING)]
    points = series(events, T0, T0 + minutes(120), minutes(15))
    assert [t for t, _ in points] == [T0 + minutes(15 * i) for i in range(9)]
    values = dict(points)
    assert values[T0] == pytest.approx(1.0)
    assert values[T0 + minutes(30)] == pytest.approx(0.5 ** 0.5 + 1.0)
    at_break = (0.5 ** 0.5 + 1.0) * 0.5 ** 0.5
    assert values[T0 + minutes(75)] == pytest.approx(at_break * 0.5)
    assert values[T0 + minutes(120)] == pytest.approx(at_break * 0.5 * 0.5 ** 0.75)


def test_series_of_unsorted_events_equals_sorted():
    events = [(T0 + minutes(m), "interaction", w) for m, w in [(50, 1.0), (5, 2.0), (20, 0.5)]]
    step = minutes(10)
    assert series(events, T0, T0 + minutes(60), step) == series(sorted(events), T0, T0 + minutes(60), step)


def test_series_for_24_hours_has_one_point_per_step():
    assert len(series([], T0, T0 + timedelta(hours=24), minutes(5))) == 24 * 12 + 1


def test_series_rejects_bad_input():
    with pytest.raises(ValueError):
        series([], T0, T0 + minutes(10), timedelta(0))
    with pytest.raises(ValueError):
        series([(T0, "mystery", 1.0)], T0, T0 + minutes(10), minutes(1))
