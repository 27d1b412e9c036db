"""Close the loop over HTTP (SPEC §12): why customers come back, known problems, and telling everyone of a fix."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import g
from marshmallow import RAISE, ValidationError

from aftercare.core.bodies import Blueprint
from aftercare.core.problems import validation_problem
from aftercare.core.web import db_session, require_scope, runtime
from followup import insight_store, problems
from followup.problem_schemas import (
    InsightsQuerySchema,
    ProblemCreateSchema,
    ProblemDetailSchema,
    ProblemListSchema,
    ProblemQuerySchema,
    ReopenReasonsSchema,
    ResolveSchema,
)

blp = Blueprint("close-the-loop", __name__, url_prefix="/api/v1",
                description="Why customers come back, known problems, and fix notices")
SECURITY = [{"bearerAuth": []}]


def insights_window(args: dict, now: datetime, default_days: int) -> tuple[datetime, datetime]:
    """`to` defaults to now, `from` to `insights.window_days` before it (422 naming `from` when not before)."""
    end = args.get("to") or now + timedelta(seconds=1)  # the end is exclusive: "now" includes this second
    start = args.get("from_") or end - timedelta(days=default_days)
    if start >= end:
        raise ValidationError({"from": ["Must be before 'to' (which defaults to now)."]})
    return start, end


def reopen_reasons(args: dict) -> dict:
    """The report the API and the dashboard page show."""
    rt = runtime()
    start, end = insights_window(args, rt.clock(), rt.settings.insights.window_days)
    return insight_store.reopen_reasons_report(db_session(), start=start, end=end,
                                               root_cause_labels=rt.followup.root_cause_codes,
                                               team=args.get("team"), journey_stage=args.get("journey_stage"))


@blp.route("/insights/reopen-reasons")
@blp.doc(security=SECURITY, summary="Why customers come back: reopens by reason and root cause, with the trend")
@require_scope("read")
@blp.arguments(InsightsQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ReopenReasonsSchema)
def get_reopen_reasons(args):
    try:
        return reopen_reasons(args)
    except ValidationError as exc:
        raise validation_problem(exc.messages, "Invalid query") from exc


@blp.route("/problems", methods=["POST"])
@blp.doc(security=SECURITY, summary="Declare a known problem: its cases in category and window are linked, and "
                                    "later ones while it is open")
@require_scope("manager")
@blp.arguments(ProblemCreateSchema)
@blp.response(201, ProblemDetailSchema)
def create_problem(args):
    rt, session = runtime(), db_session()
    problem = problems.open_problem(session, title=args["title"], category=args["category"],
                                    journey_stage=args.get("journey_stage"), start=args.get("from_") or rt.clock(), end=args.get("to"),
                                    case_ids=args.get("case_ids"), source=f"api:{g.api_key_name}", now=rt.clock())
    detail = _detail(problem.id)  # read before the commit, so no read transaction is left open after it
    session.commit()
    return detail


@blp.route("/problems")
@blp.doc(security=SECURITY, summary="Known problems, newest first")
@require_scope("read")
@blp.arguments(ProblemQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ProblemListSchema)
def list_problems(args):
    rt = runtime()
    return {"items": problems.list_problems(db_session(), now=rt.clock(), state=args.get("state"),
                                            repeat_days=rt.settings.insights.repeat_window_days)}


@blp.route("/problems/<problem_id>")
@blp.doc(security=SECURITY, summary="A known problem: affected, notified, skipped (with reasons), replies, "
                                    "reopened, repeat contacts before vs after the fix")
@require_scope("read")
@blp.response(200, ProblemDetailSchema)
def get_problem(problem_id: str):
    return _detail(problem_id)


@blp.route("/problems/<problem_id>/resolve", methods=["POST"])
@blp.doc(security=SECURITY, summary="The cause is fixed: tell every affected customer through the normal dispatch "
                                    "(locale, quiet hours, caps, consent, opt-outs; control group kept out)")
@require_scope("manager")
@blp.arguments(ResolveSchema)
@blp.response(200, ProblemDetailSchema)
def resolve(args, problem_id: str):
    rt, session = runtime(), db_session()
    problems.resolve_problem(session, ctx=rt.followup, problem_id=problem_id, now=rt.clock(),
                             by=f"api:{g.api_key_name}", message=args.get("message"))
    detail = _detail(problem_id)
    session.commit()
    return detail


def _detail(problem_id: str) -> dict:
    rt = runtime()
    return problems.problem_detail(db_session(), problem_id=problem_id, now=rt.clock(),
                                   repeat_days=rt.settings.insights.repeat_window_days)
