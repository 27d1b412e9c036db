"""`GET /api/v1/metrics/outcomes`: real outcomes, not only CSAT, as JSON or CSV."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from flask import Response, jsonify, request
from marshmallow import RAISE, ValidationError

from aftercare.core.bodies import Blueprint
from aftercare.core.fields import DAY_OR_INSTANT, DayOrInstant, WindowQuerySchema
from aftercare.core.problems import validation_problem
from aftercare.core.web import db_session, require_scope, runtime
from followup import services as followup

blp = Blueprint("metrics", __name__, url_prefix="/api/v1", description="Outcome metrics")
DEFAULT_DAYS = 30


class OutcomesQuerySchema(WindowQuerySchema):
    from_ = DayOrInstant(data_key="from", metadata={"description": "Window start (default: 30 days before `to`).",
                                                    **DAY_OR_INSTANT})


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
    report = followup.outcome_report(db_session(), start=start, end=end, now=now, team=args.get("team"),
                          journey_stage=args.get("journey_stage"), high_threshold=rt.settings.triage.high_threshold)
    report["close_the_loop"] = followup.loop_outcomes(db_session(), start=start, end=end, now=now,
                                                      repeat_days=rt.settings.insights.repeat_window_days,
                                                      team=args.get("team"), journey_stage=args.get("journey_stage"))
    return report


def csv_response(report: dict) -> Response:
    out = io.StringIO()
    csv.writer(out).writerows(followup.outcome_csv_rows(report))
    stamp = report["window"]["from"][:10] + "_" + report["window"]["to"][:10]
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="outcomes_{stamp}.csv"'})


_DOC = "\n".join(f"- **{name}**: {text}" for name, text in followup.OUTCOME_DEFINITIONS.items())


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
