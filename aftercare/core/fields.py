"""Field types every door shares, so that what a door accepts the service can compute with and store.

- `Instant`: a date-time in the years 1970 to 2999. Python's datetime ends at years 1 and 9999, so a
  window, a delay or a time zone added to an instant near those ends raised OverflowError (a 500).
- `Stored`: a string no longer than the narrowest column it is stored in, read from the models, so the
  door and the database cannot disagree (PostgreSQL refuses what does not fit; SQLite stores it).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from aftercare.core.db import column_length

EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
OUT_OF_RANGE = "Must be between 1970-01-01 and 2999-12-31 (UTC)."


def in_service_range(value: datetime) -> bool:
    """An aware datetime from EARLIEST to LATEST (compared as instants, whatever its offset)."""
    return EARLIEST <= value <= LATEST


def from_unix_time(text: str) -> datetime | None:
    """`1795600000` (ASCII digits, seconds since 1970) as an aware UTC datetime in range, else None."""
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        return None
    value = datetime.fromtimestamp(int(text), tz=timezone.utc)
    return value if in_service_range(value) else None


class Instant(fields.AwareDateTime):
    """An ISO 8601 date-time (UTC when it names no zone) from 1970 to 2999."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def __init__(self, **kwargs) -> None:
        super().__init__(default_timezone=timezone.utc, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        return self._checked(super()._deserialize(value, attr, data, **kwargs))

    def _checked(self, value: datetime) -> datetime:
        if not in_service_range(value):
            raise self.make_error("out_of_range")
        return value


class DayOrInstant(Instant):
    """`2026-11-01` (midnight UTC; with `end_of_day`, the midnight after it) or an `Instant`."""

    default_error_messages = {"invalid": "Not a date or date-time; use 2026-11-01 or 2026-11-01T09:00:00Z."}

    def __init__(self, *, end_of_day: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str) and len(text) == 10:
            try:
                day = self._checked(datetime.combine(date.fromisoformat(text), time(), timezone.utc))
            except ValueError as exc:
                raise self.make_error("invalid") from exc
            return day + timedelta(days=1) if self.end_of_day else day
        return super()._deserialize(text, attr, data, **kwargs).astimezone(timezone.utc)


def fits(*columns, min: int = 0) -> validate.Length:
    """At most as long as the narrowest of these columns (model attributes, or lengths another package gave)."""
    return validate.Length(min=min, max=column_length(*columns))


def Stored(*columns, min: int = 0, field: type[fields.String] = fields.String, **kwargs) -> fields.String:
    """A string field that fits every column it is stored in (`min=1`: not empty)."""
    return field(validate=fits(*columns, min=min), **kwargs)


DAY_OR_INSTANT = {"format": "date-or-date-time", "examples": ["2026-11-01", "2026-11-01T09:00:00Z"]}


class WindowQuerySchema(Schema):
    """`?from=&to=&team=&journey_stage=`: the window every report page and API reads (a day or an instant; `to`
    given as a day means the end of that day). A subclass says in `from_`'s description what its default is."""

    class Meta:
        unknown = RAISE

    from_ = DayOrInstant(data_key="from", metadata={"description": "Window start", **DAY_OR_INSTANT})
    to = DayOrInstant(end_of_day=True, metadata={"description": "Window end, exclusive (default: now)",
                                                  **DAY_OR_INSTANT})
    team = fields.String(validate=validate.Length(1, 128))
    journey_stage = fields.String(validate=validate.Length(1, 64))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] >= data["to"]:
            raise ValidationError("Must be before 'to'.", "from")
