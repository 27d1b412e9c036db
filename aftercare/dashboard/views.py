"""The managers' dashboard: server-rendered pages under /dashboard (load, breaks, rules, outcomes, inbox)."""
from __future__ import annotations

import re
from datetime import timedelta

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, session, url_for
from markupsafe import Markup
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

import wellbeing.services as wellbeing
from aftercare.core.page_headers import protect_page
from aftercare.core.problems import errors_by_field
from aftercare.core.web import db_session, runtime
from aftercare.dashboard import charts, rule_editor, wording
from aftercare.dashboard.forms import RulesForm, csrf_token, csrf_valid, digest, rotate_csrf, small_number
from aftercare.dashboard.listening import agent_timeline, with_erlang_a
from aftercare.dashboard.presenters import (
    channel_name,
    document_of,
    mask,
    outcome_charts,
    pretty,
    simulation_view,
    with_diffs,
)
from aftercare.managers import (
    SignInError,
    SignInThrottled,
    ThrottlePolicy,
    current_manager,
    sign_in,
    sign_out_everywhere,
)
from aftercare.outcomes_views import OutcomesQuerySchema, build_report, csv_response
from followup import services as followup

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static", static_url_path="/static")
PUBLIC_ENDPOINTS = {"dashboard.sign_in", "dashboard.static"}


@bp.before_request
def _guard():
    """Signed-in managers only; every POST carries the session's CSRF token."""
    if request.method == "POST" and not csrf_valid():
        return render_template("dashboard/error.html", title="Form expired",
                               message="This form has expired or did not come from this dashboard. "
                                       "Reload the page and try again."), 400
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    manager = current_manager(db_session(), session.get("manager_id"), session.get("nonce"))
    if manager is None:
        session.pop("manager_id", None)
        session.pop("nonce", None)
        if request.headers.get("X-Requested-With") == "fetch":
            return Response("signed out", status=401)
        return redirect(url_for("dashboard.sign_in", next=request.full_path.rstrip("?")))
    g.manager = manager
    return None


@bp.after_request
def _security_headers(response: Response) -> Response:
    return protect_page(response, cacheable=request.endpoint == "dashboard.static")


@bp.errorhandler(HTTPException)
def _html_error(error: HTTPException):
    """Pages answer errors with a page (the API keeps problem+json)."""
    return render_template("dashboard/error.html", title=error.name, message=error.description), error.code


@bp.app_template_global()
def csrf_field():
    return Markup(f'<input type="hidden" name="csrf_token" value="{csrf_token()}">')


def _now():
    return runtime().clock()


SAFE_NEXT = re.compile(r"/dashboard/[!-\[\]-~]*")  # printable ASCII but the backslash


def _safe_next(target: str | None) -> str:
    """A path on the dashboard (so no scheme or host), else the load page. Only printable ASCII without
    backslashes: urlsplit, which this used, drops CR, LF and tabs before it looks, so they passed the check
    and then broke the Location header (a 500 after a successful sign-in)."""
    return target if target and SAFE_NEXT.fullmatch(target) else url_for("dashboard.load")


# --- sign-in -------------------------------------------------------------------------------------------

@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page():
    if request.method == "GET":
        return render_template("dashboard/sign_in.html", next=request.args.get("next", ""))
    settings = runtime().settings.dashboard
    policy = ThrottlePolicy(settings.sign_in_max_failures, timedelta(minutes=settings.sign_in_window_minutes))
    username = request.form.get("username", "")
    try:
        manager = sign_in(session=db_session(), username=username, password=request.form.get("password", ""),
                          ip=request.remote_addr or "unknown", now=_now(), policy=policy)
    except SignInThrottled as exc:
        return render_template("dashboard/sign_in.html", error=str(exc), username=username,
                               next=request.form.get("next", "")), 429, {"Retry-After": str(exc.retry_after_seconds)}
    except SignInError as exc:
        return render_template("dashboard/sign_in.html", error=str(exc), username=username,
                               next=request.form.get("next", "")), 401
    session.clear()
    session.permanent = True
    session["manager_id"], session["nonce"] = manager.id, manager.session_nonce
    rotate_csrf()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    """Signs this manager out of every browser, not only this one."""
    sign_out_everywhere(session=db_session(), manager_id=g.manager.id)
    session.clear()
    flash("Signed out.")
    return redirect(url_for("dashboard.sign_in"))


@bp.route("/")
def home():
    return redirect(url_for("dashboard.load"))


# --- team load and breaks ------------------------------------------------------------------------------

def _teams() -> list[str]:
    return followup.case_teams(db_session())


def _load_chart(team: str | None) -> tuple[list[dict], object]:
    agents = wellbeing.team_load(db_session(), team=team, now=_now())
    bars = [charts.Bar(label=a.get("name") or a["agent_id"], value=float(a["load"]),
                       kind="break" if a.get("state") == "on_break" else "over" if a.get("over_threshold") else "ok",
                       note="on break" if a.get("state") == "on_break" else "")
            for a in agents]
    thresholds = {a["threshold"] for a in agents if a.get("threshold") is not None}
    threshold = thresholds.pop() if len(thresholds) == 1 else None
    return agents, charts.hbar_chart(bars, title=f"Emotional load per agent, {team or 'all teams'}",
                                      threshold=threshold)


@bp.route("/load")
def load():
    teams = _teams()
    team = request.args.get("team") or None
    agents, chart = _load_chart(team)
    return render_template("dashboard/load.html", teams=teams, team=team, agents=agents, chart=chart, now=_now(),
                           refresh_seconds=runtime().settings.dashboard.refresh_seconds,
                           rattled=wellbeing.rattled_prompts(db_session(), team=team))


@bp.route("/load/live")
def load_live():
    """The chart and table alone, fetched by live.js every few seconds."""
    team = request.args.get("team") or None
    agents, chart = _load_chart(team)
    return render_template("dashboard/_load_live.html", team=team, agents=agents, chart=chart, now=_now(),
                           rattled=wellbeing.rattled_prompts(db_session(), team=team))


@bp.route("/agents/<agent_id>/rattled/<report_id>/seen", methods=["POST"])
def rattled_seen(agent_id: str, report_id: str):
    """A manager has seen an agent's "that one rattled me": the prompt leaves the load page."""
    team = request.form.get("team") or None
    seen = wellbeing.mark_rattled_seen(db_session(), agent_id=agent_id, report_id=report_id,
                                       seen_by=g.manager.username, now=_now())
    if seen is None:
        abort(404)
    db_session().commit()
    flash(f"Marked seen: {seen.get('name') or agent_id} said a call rattled them.")
    return redirect(url_for("dashboard.load", team=team if team and len(team) <= 128 else None))


@bp.route("/agents/<agent_id>")
def agent(agent_id: str):
    detail = wellbeing.agent_load(db_session(), agent_id=agent_id, now=_now())
    if detail is None:
        abort(404)
    decisions = wellbeing.break_decisions(db_session(), agent_id=agent_id, limit=50)
    chart, events = agent_timeline(detail, breaks=wellbeing.agent_breaks(db_session(), agent_id=agent_id, limit=50),
                                   decisions=decisions,
                                   reports=wellbeing.agent_reports(db_session(), agent_id=agent_id, limit=50))
    return render_template("dashboard/agent.html", agent=detail, chart=chart, decisions=decisions, events=events)


def _hhmm(at) -> str:
    text = at if isinstance(at, str) else at.isoformat()
    return text[11:16]


@bp.route("/breaks")
def breaks():
    teams = _teams()
    team = request.args.get("team") or None
    decisions = wellbeing.break_decisions(db_session(), team=team, limit=100)
    return render_template("dashboard/breaks.html", teams=teams, team=team, decisions=decisions)


# --- rules: edit, simulate, publish, history, rollback ------------------------------------------------

@bp.route("/rules", methods=["GET"])
def rules():
    team = request.args.get("team") or None
    active = wellbeing.active_rule_set(db_session(), team=team)
    document = document_of(active)
    values, count = rule_editor.values_from_document(document)
    return _rules_page(team=team, active=active, document=document, text=pretty(document), values=values,
                       rule_count=count, reason="", window_days=7, errors={})


def _rules_page(*, team, active, document, text, values, rule_count, reason, window_days, errors, simulation=None,
                simulated="", focus="", json_open=False, status=200):
    """The editor drawn from the schema's fields, the same document as JSON (advanced view), errors by field."""
    rules_ = document.get("rules") if isinstance(document, dict) and isinstance(document.get("rules"), list) else []
    sentences = [wording.rule_sentence(r) if isinstance(r, dict) else "" for r in rules_]
    guards = document.get("guards") if isinstance(document, dict) else None
    editor = rule_editor.editor_view(values, rule_count, wellbeing.rule_form_spec(), errors, sentences)
    error_items = [{"path": path, "id": rule_editor.error_target(path, editor["ids"]),
                    "where": rule_editor.error_location(path, document),
                    "messages": messages} for path, messages in errors.items()]
    return render_template("dashboard/rules.html", teams=_teams(), team=team, active=active, text=text,
                           reason=reason, window_days=window_days, errors=errors, error_items=error_items,
                           editor=editor, guard_sentences=wording.guard_sentences(guards)
                           if isinstance(guards, dict) else [], simulation=simulation, simulated=simulated,
                           focus=focus, json_open=json_open or "document" in errors), status


@bp.route("/rules", methods=["POST"])
def rules_post():
    form = RulesForm.from_request()
    active = wellbeing.active_rule_set(db_session(), team=form.team)
    simulation = None
    if not form.errors and form.checks:
        try:
            if form.action == "publish":
                return _publish(form)
            simulation = _simulate(form)
        except ValidationError as exc:
            form.errors.update(_flat(exc.messages))
    document, text = _synced(form)
    return _rules_page(team=form.team, active=active, document=document, text=text, values=form.values,
                       rule_count=form.rule_count, reason=form.reason, window_days=form.window_days or 7,
                       errors=form.errors, simulation=simulation,
                       simulated=digest(form.team, form.document) if simulation else "", focus=form.focus,
                       json_open=form.source == "json" and bool(form.errors), status=422 if form.errors else 200)


def _synced(form: RulesForm) -> tuple[object, str]:
    """The document both views show. Edited as JSON and valid: the form is redrawn from its stored form
    (defaults written out); invalid JSON stays as typed so the manager can fix it."""
    if form.source == "form":
        return form.document, pretty(form.document)
    stored = wellbeing.canonical_rule_document(form.document)
    if stored is None:
        return form.document, form.text
    if form.team:
        stored["scope"] = {"team": form.team}
    form.values, form.rule_count = rule_editor.values_from_document(stored)
    return stored, pretty(stored)


@bp.route("/rules/preview", methods=["POST"])
def rules_preview():
    """For the editor's script: the JSON and the sentences of the rules as the form stands (nothing stored)."""
    form = RulesForm.from_request()
    document, text = _synced(form)
    rules_ = document.get("rules") if isinstance(document, dict) and isinstance(document.get("rules"), list) else []
    return {"document": text, "sentences": [wording.rule_sentence(r) if isinstance(r, dict) else ""
                                            for r in rules_]}


def _flat(messages) -> dict[str, list[str]]:
    """Errors by field path; one about the document as a whole is shown on it."""
    return {"document" if path == "_schema" else path: texts for path, texts in errors_by_field(messages).items()}


def _simulate(form: RulesForm) -> dict:
    now = _now()
    try:
        result = wellbeing.simulate_rule_set(db_session(), rules=form.document,
                                             start=now - timedelta(days=form.window_days), end=now, team=form.team)
    except ValidationError as exc:
        raise ValidationError(document_paths(exc.messages)) from exc
    return with_erlang_a(simulation_view(result), result)


def document_paths(messages) -> dict[str, list[str]]:
    """The simulate API names fields under its `rules` argument ("rules.rules.0.when.x"); the editor shows
    paths inside the document ("rules.0.when.x"), and the window as the days field."""
    out: dict[str, list[str]] = {}
    for key, texts in _flat(messages).items():
        name = key[len("rules."):] if key.startswith("rules.") else "document" if key == "rules" \
            else "window_days" if key in ("from", "to") else key
        out.setdefault(name, []).extend(texts)
    return out


def _publish(form: RulesForm):
    session_ = db_session()
    published = wellbeing.publish_rule_set(session_, team=form.team, data=form.document, author=g.manager.username,
                                           reason=form.reason, now=_now())
    session_.commit()
    flash(f"Published version {published.get('version')} for {form.team or 'all teams (default)'}.")
    return redirect(url_for("dashboard.history", team=form.team or None))


@bp.route("/rules/history")
def history():
    team = request.args.get("team") or None
    entries = wellbeing.rule_history(db_session(), team=team)
    active = wellbeing.active_rule_set(db_session(), team=team)
    return render_template("dashboard/history.html", teams=_teams(), team=team, entries=with_diffs(entries),
                           active_version=(active or {}).get("version"))


@bp.route("/rules/rollback", methods=["POST"])
def rollback():
    team = request.form.get("team") or None
    version = small_number(request.form.get("version", ""))
    if not version or len(team or "") > 128:
        flash("Choose a version to roll back to.", "error")
        return redirect(url_for("dashboard.history", team=team))
    session_ = db_session()
    try:
        result = wellbeing.rollback_rule_set(session_, team=team, version=version, author=g.manager.username,
                                             now=_now(), reason=request.form.get("reason", "").strip() or None)
    except LookupError as exc:
        flash(f"No such version: {exc}", "error")
        return redirect(url_for("dashboard.history", team=team))
    session_.commit()
    flash(f"Rolled back to version {version}; now active as version {result.get('version')}.")
    return redirect(url_for("dashboard.history", team=team))


# --- outcomes -----------------------------------------------------------------------------------------

def _outcome_args() -> tuple[dict, dict[str, list[str]]]:
    raw = {k: v for k, v in request.args.items() if v.strip()}
    try:
        return OutcomesQuerySchema().load(raw), {}
    except ValidationError as exc:
        return {}, _flat(exc.messages)


@bp.route("/outcomes")
def outcomes():
    args, errors = _outcome_args()
    report = None
    if not errors:
        try:
            report = build_report(args)
        except ValidationError as exc:
            errors = _flat(exc.messages)
    return render_template("dashboard/outcomes.html", report=report, errors=errors, query=request.args,
                           teams=_teams(), charts=outcome_charts(report) if report else {},
                           definitions=followup.OUTCOME_DEFINITIONS, channel_name=channel_name), 422 if errors else 200


@bp.route("/outcomes.csv")
def outcomes_csv():
    args, errors = _outcome_args()
    try:
        report = None if errors else build_report(args)
    except ValidationError as exc:
        errors = _flat(exc.messages)
    if errors:
        return Response("\n".join(f"{k}: {'; '.join(v)}" for k, v in errors.items()), status=422,
                        mimetype="text/plain")
    return csv_response(report)


# --- follow-up inbox ----------------------------------------------------------------------------------

@bp.route("/inbox")
def inbox():
    session_ = db_session()
    rows, unmatched = followup.reopened_cases(session_), followup.unmatched_replies(session_)
    return render_template("dashboard/inbox.html", rows=rows, unmatched=unmatched, mask=mask)


from aftercare.dashboard import loop_pages  # noqa: E402,F401 - its pages (close the loop) join this blueprint
