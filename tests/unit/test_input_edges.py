"""The shared input rules without a database: strict, shallow JSON; date-times the service can compute with;
string limits read from the columns. Hypothesis covers the ends (year 1 and 9999, offsets of ±23:59)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given, strategies as st
from marshmallow import ValidationError

from aftercare.core.db import column_length
from aftercare.core.fields import EARLIEST, LATEST, DayOrInstant, Instant, from_unix_time
from aftercare.core.strict_json import MAX_JSON_DEPTH, JsonRefused, parse_json
from tests.support.fuzz import FUZZ, any_text, json_values


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 500, 100_000])
def test_json_nested_past_the_limit_is_refused_not_a_recursion_error(depth):
    with pytest.raises(JsonRefused) as refused:
        parse_json(nested(depth))
    assert not refused.value.malformed and str(MAX_JSON_DEPTH) in str(refused.value)


def test_json_at_the_limit_is_read():
    assert parse_json(nested(MAX_JSON_DEPTH))[0] == json.loads(nested(MAX_JSON_DEPTH - 1))
    assert parse_json('{"a": {"b": [1, {"c": null}]}}') == {"a": {"b": [1, {"c": None}]}}


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"x": -Infinity}', "1e999", "[" + "9" * 5000 + "]", "{", b"\xff"])
def test_what_json_does_not_allow_is_malformed(text):
    with pytest.raises(JsonRefused) as refused:
        parse_json(text)
    assert refused.value.malformed


@FUZZ
@given(text=st.one_of(any_text, json_values.map(json.dumps), st.integers(0, 3000).map(nested),
                      st.binary(max_size=200)))
@example(text=nested(5000))
def test_parse_json_returns_a_value_or_refuses(text):
    try:
        parse_json(text)
    except JsonRefused:
        pass


offsets = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)) \
    .map(lambda delta: timezone(timedelta(minutes=delta // timedelta(minutes=1))))
any_instant = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                           timezones=st.one_of(st.none(), offsets))


@FUZZ
@given(when=any_instant)
@example(when=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))))
@example(when=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59))))
def test_instants_are_in_range_or_refused_never_an_overflow(when):
    text = when.isoformat()
    for field in (Instant(), DayOrInstant(), DayOrInstant(end_of_day=True)):
        try:
            value = field.deserialize(text)
        except ValidationError as exc:
            assert exc.messages == ["Must be between 1970-01-01 and 2999-12-31 (UTC)."]
            continue
        assert EARLIEST <= value <= LATEST
        value + timedelta(days=400)  # a window or a delay from there cannot overflow
        value - timedelta(days=400)


@pytest.mark.parametrize("text,end_of_day,expected", [
    ("2026-11-01", False, datetime(2026, 11, 1, tzinfo=timezone.utc)),
    ("2026-11-01", True, datetime(2026, 11, 2, tzinfo=timezone.utc)),
    ("2999-12-31", True, datetime(3000, 1, 1, tzinfo=timezone.utc)),
    ("2026-11-01T09:00:00+02:00", False, datetime(2026, 11, 1, 7, tzinfo=timezone.utc)),
    ("2026-11-01T09:00:00", False, datetime(2026, 11, 1, 9, tzinfo=timezone.utc)),
])
def test_a_day_or_an_instant(text, end_of_day, expected):
    assert DayOrInstant(end_of_day=end_of_day).deserialize(text) == expected


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31", "1969-12-31", "3000-01-01", "2026-13-01", "", "soon"])
def test_days_out_of_range_or_not_days_are_refused(text):
    with pytest.raises(ValidationError):
        DayOrInstant(end_of_day=True).deserialize(text)


@pytest.mark.parametrize("text,expected", [
    ("1795600000", datetime.fromtimestamp(1795600000, timezone.utc)), ("0", EARLIEST),
    ("²", None), ("١٢", None), ("9" * 30, None), ("99999999999", None), ("-1", None), ("", None)])
def test_unix_times(text, expected):
    assert from_unix_time(text) == expected


def test_column_length_is_the_narrowest_column():
    from followup.models import Customer, OptOut

    assert column_length(Customer.name) == 200
    assert column_length(OptOut.address, Customer.locale) == 35
