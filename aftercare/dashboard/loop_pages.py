"""Dashboard pages that close the loop (SPEC §12): why customers come back, known problems, and their fix notices.

Routes join the dashboard blueprint (signed-in managers, CSRF on forms); the data comes from followup's public
interface, the same functions the API uses.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from aftercare.core.problems import Problem, errors_by_field
from aftercare.core.web import db_session, runtime
from aftercare.dashboard import charts
from aftercare.dashboard.views import _teams, bp
from followup import services as followup

PROBLEM_FIELDS = ("title", "category", "journey_stage", "from", "to", "case_ids")


def _query_errors(exc: ValidationError) -> dict[str, list[str]]:
    return {("from" if k == "from_" else k): v for k, v in errors_by_field(exc.messages).items()}


@bp.route("/insights")
def insights():
    """Why customers come back: reopens by reason and root cause, per category, journey stage and team."""
    raw = {k: v for k, v in request.args.items() if v.strip()}
    report, errors = None, {}
    try:
        report = followup.reopen_reasons_report(followup.InsightsQuerySchema().load(raw))
    except ValidationError as exc:
        errors = _query_errors(exc)
    chart = None
    if report and report["reasons"]:
        chart = charts.hbar_chart([charts.Bar(label=r["label"], value=float(r["count"]),
                                              kind="over" if r["trend"] in ("up", "new") else "ok",
                                              note=f"({r['previous']} before)")
                                   for r in report["reasons"]], title="Reopens by reason, this window",
                                  value_format="{:.0f}")
    return render_template("dashboard/insights.html", report=report, errors=errors, query=request.args,
                           teams=_teams(), chart=chart), 422 if errors else 200


@bp.route("/problems")
def problems():
    rt = runtime()
    items = followup.list_problems(db_session(), now=rt.clock(), repeat_days=rt.settings.insights.repeat_window_days)
    return render_template("dashboard/problems.html", open_items=[p for p in items if p["state"] == "open"],
                           resolved_items=[p for p in items if p["state"] == "resolved"], form={}, errors={})


@bp.route("/problems", methods=["POST"])
def problems_post():
    """Declare a known problem from the dashboard (the same use case as POST /api/v1/problems)."""
    rt, session = runtime(), db_session()
    form = {k: request.form.get(k, "").strip() for k in PROBLEM_FIELDS}
    data = {k: v for k, v in form.items() if v and k != "case_ids"}
    data["case_ids"] = [c for c in form["case_ids"].replace(",", " ").split() if c]
    try:
        args = followup.ProblemFieldsSchema().load(data)
        problem = followup.open_problem(session, title=args["title"], category=args["category"],
                                        journey_stage=args.get("journey_stage"), start=args.get("from_") or rt.clock(),
                                        end=args.get("to"), case_ids=args["case_ids"],
                                        source=f"manager:{g.manager.username}", now=rt.clock())
    except ValidationError as exc:
        return _problems_again(form, _query_errors(exc))
    except Problem as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            errors.setdefault(error["field"], []).append(error["message"])
        return _problems_again(form, errors or {"title": [exc.detail or exc.title]})
    session.commit()
    flash(f"Problem declared: {problem.title}.")
    return redirect(url_for("dashboard.problem", problem_id=problem.id))


def _problems_again(form: dict, errors: dict):
    db_session().rollback()
    rt = runtime()
    items = followup.list_problems(db_session(), now=rt.clock(), repeat_days=rt.settings.insights.repeat_window_days)
    return render_template("dashboard/problems.html", open_items=[p for p in items if p["state"] == "open"],
                           resolved_items=[p for p in items if p["state"] == "resolved"], form=form,
                           errors=errors), 422


@bp.route("/problems/<problem_id>")
def problem(problem_id: str):
    rt = runtime()
    try:
        detail = followup.problem_detail(db_session(), problem_id=problem_id, now=rt.clock(),
                                         repeat_days=rt.settings.insights.repeat_window_days)
    except Problem:
        return render_template("dashboard/error.html", title="Not Found", message="No such problem."), 404
    return render_template("dashboard/problem.html", p=detail)


@bp.route("/problems/<problem_id>/resolve", methods=["POST"])
def problem_resolve(problem_id: str):
    """The cause is fixed: tell every affected customer (through the normal dispatch)."""
    rt, session = runtime(), db_session()
    message = request.form.get("message", "").strip()[:300] or None
    try:
        followup.resolve_problem(session, ctx=rt.followup, problem_id=problem_id, now=rt.clock(),
                                 by=f"manager:{g.manager.username}", message=message)
    except Problem as exc:
        flash(exc.detail or exc.title, "error")
        return redirect(url_for("dashboard.problem", problem_id=problem_id))
    session.commit()
    flash("Resolved: fix notices are on their way to the affected customers who may be told.")
    return redirect(url_for("dashboard.problem", problem_id=problem_id))
