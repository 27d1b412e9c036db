"""`GET /api/v1/metrics/outcomes`: real outcomes, not only CSAT, as JSON or CSV."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta, timezone

from flask import Response, jsonify, request
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from aftercare.core.web import db_session, runtime
from aftercare.core.web import require_scope
from aftercare.core.problems import validation_problem
from followup.outcome_store import outcome_report
from followup.outcomes import DEFINITIONS, csv_rows

blp = Blueprint("metrics", __name__, url_prefix="/api/v1", description="Outcome metrics")
DEFAULT_DAYS = 30


class DateOrDateTime(fields.Field):
    """`2026-11-01` (midnight UTC; for `to`, the end of that day) or an ISO 8601 date-time (UTC if no zone)."""

    def __init__(self, *, end_of_day: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("Not a date or date-time; use 2026-11-01 or 2026-11-01T09:00:00Z.")
        text = value.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime.combine(day + timedelta(days=1 if self.end_of_day else 0), time(), timezone.utc)
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationError("Not a date or date-time; use 2026-11-01 or 2026-11-01T09:00:00Z.") from exc
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


class OutcomesQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    from_ = DateOrDateTime(data_key="from", metadata={"description": "Window start (default: 30 days before `to`)."})
    to = DateOrDateTime(end_of_day=True, metadata={"description": "Window end, exclusive (default: now)."})
    team = fields.String(validate=validate.Length(1, 128))
    journey_stage = fields.String(validate=validate.Length(1, 64))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] >= data["to"]:
            raise ValidationError("Must be before 'to'.", "from")


def resolve_window(args: dict, now: datetime) -> tuple[datetime, datetime]:
    end = args.get("to") or now
    start = args.get("from_") or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise ValidationError({"from": ["Must be before 'to' (which defaults to now)."]})
    return start, end


def build_report(args: dict) -> dict:
    rt = runtime()
    now = rt.clock()
    start, end = resolve_window(args, now)
    return outcome_report(db_session(), start=start, end=end, now=now, team=args.get("team"),
                          journey_stage=args.get("journey_stage"), high_threshold=rt.settings.triage.high_threshold)


def csv_response(report: dict) -> Response:
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(report))
    stamp = report["window"]["from"][:10] + "_" + report["window"]["to"][:10]
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="outcomes_{stamp}.csv"'})


_DOC = "\n".join(f"- **{name}**: {text}" for name, text in DEFINITIONS.items())


@blp.route("/metrics/outcomes")
@blp.doc(security=[{"bearerAuth": []}], summary="Outcome metrics for a window (JSON, or CSV with Accept: text/csv)",
         description="Computed from stored events; the answer repeats these definitions under `definitions`.\n\n"
                     + _DOC,
         responses={"200": {"description": "The metrics", "content": {
             "application/json": {"schema": {"type": "object"}},
             "text/csv": {"schema": {"type": "string"}, "example": "metric,group,measure,value\n"}}},
             "422": {"description": "A bad query parameter, named in `errors`, or `from` not before `to`"}})
@require_scope("read")
@blp.arguments(OutcomesQuerySchema, location="query", unknown=RAISE)
def outcomes(args):
    try:
        report = build_report(args)
    except ValidationError as exc:
        raise validation_problem(exc.messages, "Invalid query") from exc
    if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        return csv_response(report)
    return jsonify(report)
