"""wellbeing's HTTP edge under /api/v1: load, break rules, agent state, the next item, breaks, the queue."""
from __future__ import annotations

from functools import wraps

from flask import g, jsonify
from flask.views import MethodView
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from aftercare.core.bodies import Blueprint
from aftercare.core.db import column_length
from aftercare.core.problems import Problem, validation_problem
from aftercare.core.twilio_signature import verified_twilio_form
from aftercare.core.web import db_session, require_scope, runtime
from wellbeing import agents, handover, queue, rattled, reports, rulesets
from wellbeing.models import Agent
from wellbeing.rule_schema import dump_rule_set
from wellbeing.schemas import (
    AgentBreaksSchema,
    AgentLoadSchema,
    AgentStateResultSchema,
    AgentStateSchema,
    BreakSchema,
    LimitQuerySchema,
    NextSchema,
    PublishRulesSchema,
    QueueListSchema,
    QueueQuerySchema,
    RattledBodySchema,
    RattledResultSchema,
    RattledSchema,
    RollbackSchema,
    RuleHistorySchema,
    RuleSetVersionSchema,
    SimulateSchema,
    SimulationSchema,
    TeamLoadSchema,
    TeamQuerySchema,
)

blp = Blueprint("wellbeing", __name__, url_prefix="/api/v1", description="Routing queue, agent state and load")
rules_blp = Blueprint("break_rules", __name__, url_prefix="/api/v1/break-rules",
                      description="Break rules (manager scope): versioned, validated, simulated, rolled back")
platform_blp = Blueprint("routing_webhooks", __name__, url_prefix="/webhooks",
                         description="Routing platform event callbacks (signed)")
SECURITY = [{"bearerAuth": []}]
NOT_FOUND = {"404": {"description": "Unknown agent or break"}}


def _not_found(detail: str) -> Problem:
    return Problem(404, "Not Found", detail, kind="not-found")


def _invalid(error: ValidationError, prefix: str) -> Problem:
    """A service's flat {"rules.2.when.x": [...]} named from the request body's root."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return validation_problem({prefix if key == "_schema" else f"{prefix}.{key}" if prefix else key: texts
                               for key, texts in messages.items()})


def _agent_id_fits(view):
    """A state report stores the agent under the path's id: one longer than the column is a 422 naming it
    (PostgreSQL refused it with a 500; SQLite stored it)."""

    @wraps(view)
    def checked(*args, agent_id: str, **kwargs):
        if len(agent_id) > (limit := column_length(Agent.id)):
            raise validation_problem({"agent_id": [f"At most {limit} characters."]}, "Invalid path")
        return view(*args, agent_id=agent_id, **kwargs)

    return checked


def _commit_version() -> None:
    try:
        db_session().commit()
    except IntegrityError as exc:
        db_session().rollback()
        raise Problem(409, "Conflict", "Another change to these rules was saved at the same moment; "
                                       "reload the history and try again.", kind="conflict") from exc


@blp.route("/agents/<agent_id>/load")
@blp.doc(security=SECURITY, summary="An agent's load now, its parts over 24 h and a 24 h series",
         responses=NOT_FOUND)
@require_scope("read", "agent")
@blp.response(200, AgentLoadSchema)
def agent_load(agent_id: str):
    found = agents.agent_load(db_session(), agent_id=agent_id, now=runtime().clock())
    if found is None:
        raise _not_found(f"No agent {agent_id!r} is known yet.")
    return found


@blp.route("/teams/<team>/load")
@blp.doc(security=SECURITY, summary="Every agent of a team with their load now, heaviest first")
@require_scope("read")
@blp.response(200, TeamLoadSchema)
def team_load(team: str):
    now = runtime().clock()
    return {"team": team, "at": now.isoformat(), "agents": agents.team_load(db_session(), team=team, now=now),
            "rattled": rattled.rattled_prompts(db_session(), team=team)}


@blp.route("/agents/<agent_id>/rattled", methods=["POST"])
@blp.doc(security=SECURITY, summary="The agent says an interaction rattled them (a softphone or agent desktop button)",
         description="Adds `wellbeing.weights.agent_reported` to the agent's load, runs the team's break rules with "
                     "`agent_reported` true (a rule `\"when\": {\"agent_reported\": true}` grants a break on it) and "
                     "shows on the team load page, with the note, until a manager marks it seen. Once per interaction: "
                     "reporting the same latest interaction again adds nothing (200, `duplicate`). Callable with "
                     "the agent's own bound key (or an unbound agent key) or a manager key; another agent's key "
                     "gets 403. Body optional: `{\"note\": \"...\"}`.",
         responses={**NOT_FOUND, "403": {"description": "The key lacks the scope or is bound to another agent"}})
@require_scope("agent", "manager")
@blp.arguments(RattledBodySchema)
@blp.response(201, RattledResultSchema)
@blp.alt_response(200, schema=RattledResultSchema,
                  description="The agent's latest interaction was already reported: nothing added (`duplicate`)")
@_agent_id_fits
def report_rattled(args, agent_id: str):
    found = rattled.report_rattled(db_session(), agent_id=agent_id, note=args.get("note"),
                                   reported_by=g.api_key_name, now=runtime().clock())
    if found is None:
        raise _not_found(f"No agent {agent_id!r} is known yet; report a state first.")
    db_session().commit()
    return (found, 200) if found["duplicate"] else found


@blp.route("/agents/<agent_id>/rattled/<report_id>/seen", methods=["POST"])
@blp.doc(security=SECURITY, summary="A manager has seen an agent's \"that one rattled me\" (the prompt goes away)",
         responses=NOT_FOUND)
@require_scope("manager")
@blp.response(200, RattledSchema)
def rattled_seen(agent_id: str, report_id: str):
    found = rattled.mark_rattled_seen(db_session(), agent_id=agent_id, report_id=report_id,
                                      seen_by=g.api_key_name, now=runtime().clock())
    if found is None:
        raise _not_found(f"Agent {agent_id!r} has no report {report_id!r}.")
    db_session().commit()
    return found


# An agent's team decides whose work /next hands over, so only the CRM (its events) or a manager may set it.
MANAGER_ONLY_AGENT_FIELDS = ("team", "name")


@blp.route("/agents/<agent_id>/state", methods=["PUT"])
@blp.doc(security=SECURITY, summary="Report an agent's state: available, busy, wrap_up, on_break or offline",
         description="available / wrap_up after a break was granted lets an `after_current` break start; "
                     "reported during a break, the agent is back early. offline cancels a break not yet started. "
                     "`team` and `name` come from the CRM's events; only a `manager` key may set them here "
                     "(an `agent` key sending either gets 403 naming the field).",
         responses={"403": {"description": "The key lacks the scope, is bound to another agent, or is not a "
                                           "manager key and sent `team` or `name`"}})
@require_scope("agent")
@blp.arguments(AgentStateSchema)
@blp.response(200, AgentStateResultSchema)
@_agent_id_fits
def put_agent_state(args, agent_id: str):
    refused = [name for name in MANAGER_ONLY_AGENT_FIELDS if name in args]
    if refused and "manager" not in g.api_key_scopes:
        raise Problem(403, "Forbidden", "An agent key reports state only; an agent's team and name come from the "
                                        "CRM or a manager key.", kind="forbidden",
                      errors=[{"field": name, "message": "Only a manager key may set this."} for name in refused])
    result = handover.report_state(db_session(), agent_id=agent_id, state=args["state"], now=runtime().clock(),
                                    name=args.get("name"), team=args.get("team"))
    db_session().commit()
    return result


@blp.route("/agents/<agent_id>/next")
@blp.doc(security=SECURITY, summary="What the agent does next: a due break first, else the top item they may take",
         description="Hands the result over: a break starts now; a work item is assigned to the agent. A break "
                     "granted `after_current` is handed over only once the agent has reported available or "
                     "wrap_up after it was granted.", responses=NOT_FOUND)
@require_scope("agent")
@blp.response(200, NextSchema)
def next_item(agent_id: str):
    found = handover.next_for_agent(db_session(), agent_id=agent_id, now=runtime().clock())
    if found is None:
        raise _not_found(f"No agent {agent_id!r} is known yet; report a state first.")
    db_session().commit()
    return found


@blp.route("/agents/<agent_id>/breaks")
@blp.doc(security=SECURITY, summary="An agent's breaks and every planner decision about them, with reasons")
@require_scope("read", "agent")
@blp.arguments(LimitQuerySchema, location="query")
@blp.response(200, AgentBreaksSchema)
def agent_breaks(args, agent_id: str):
    session = db_session()
    return {"breaks": handover.agent_breaks(session, agent_id=agent_id, limit=args["limit"]),
            "decisions": reports.break_decisions(session, agent_id=agent_id, limit=args["limit"])}


@blp.route("/agents/<agent_id>/breaks/<break_id>/end", methods=["POST"])
@blp.doc(security=SECURITY, summary="End a running break early",
         responses={**NOT_FOUND, "409": {"description": "The break is not running"}})
@require_scope("agent")
@blp.response(200, BreakSchema)
def end_break(agent_id: str, break_id: str):
    try:
        ended = handover.end_agent_break(db_session(), agent_id=agent_id, break_id=break_id, now=runtime().clock())
    except handover.BreakConflict as exc:
        raise Problem(409, "Conflict", str(exc), kind="conflict") from exc
    if ended is None:
        raise _not_found(f"Agent {agent_id!r} has no break {break_id!r}.")
    db_session().commit()
    return ended


@blp.route("/routing/queue")
@blp.doc(security=SECURITY, summary="Builtin routing queue, highest priority first")
@require_scope("read", "agent")
@blp.arguments(QueueQuerySchema, location="query")
@blp.response(200, QueueListSchema)
def routing_queue(args):
    return {"items": queue.queue_items(db_session(), state=args["state"], team=args.get("team"),
                                           limit=args["limit"])}


@rules_blp.route("")
class BreakRules(MethodView):
    @rules_blp.doc(security=SECURITY, summary="The rule set that applies to a team (its own, else the default)")
    @require_scope("manager")
    @rules_blp.arguments(TeamQuerySchema, location="query")
    @rules_blp.response(200, RuleSetVersionSchema)
    def get(self, args):
        return rulesets.active_rule_set(db_session(), team=args["team"])

    @rules_blp.doc(security=SECURITY, summary="Publish a new version of a team's rule set (omit team: the default)",
                   description='Body: `{"rule_set": {"rules": [...], "guards": {...}}, "reason": "why"}`. '
                               "The author is the API key's name. A bad rule set is a 422 naming each field, "
                               "e.g. `rule_set.rules.2.when.typo_condition`.")
    @require_scope("manager")
    @rules_blp.arguments(TeamQuerySchema, location="query")
    @rules_blp.arguments(PublishRulesSchema)
    @rules_blp.response(201, RuleSetVersionSchema)
    def put(self, query, body):
        try:
            published = rulesets.publish_rule_set(db_session(), team=query["team"],
                                                   data=dump_rule_set(body["rule_set"]), author=g.api_key_name,
                                                   reason=body["reason"], now=runtime().clock())
        except ValidationError as exc:
            raise _invalid(exc, "rule_set") from exc
        _commit_version()
        return published


@rules_blp.route("/history")
@rules_blp.doc(security=SECURITY, summary="Every version of a team's own rule set, newest first")
@require_scope("manager")
@rules_blp.arguments(TeamQuerySchema, location="query")
@rules_blp.response(200, RuleHistorySchema)
def rule_history(args):
    return {"team": args["team"], "versions": rulesets.rule_history(db_session(), team=args["team"])}


@rules_blp.route("/rollback", methods=["POST"])
@rules_blp.doc(security=SECURITY, summary="Publish an exact copy of an earlier version as the newest",
               responses={"404": {"description": "No such version"}})
@require_scope("manager")
@rules_blp.arguments(RollbackSchema)
@rules_blp.response(201, RuleSetVersionSchema)
def rollback(args):
    try:
        restored = rulesets.rollback_rule_set(db_session(), team=args["team"], version=args["version"],
                                               author=g.api_key_name, now=runtime().clock(), reason=args["reason"])
    except LookupError as exc:
        raise _not_found(str(exc)) from exc
    _commit_version()
    return restored


@rules_blp.route("/simulate", methods=["POST"])
@rules_blp.doc(security=SECURITY, summary="Replay a window's recorded interactions with proposed and active rules",
               description='Body: `{"rules": <rule set>, "from": "...", "to": "...", "team": "..."}` (at most '
                           "31 days). Reports breaks per agent, minutes off-queue, predicted service level per "
                           "hour and agents whose load peaked over the threshold without a break. Stores nothing.")
@require_scope("manager")
@rules_blp.arguments(SimulateSchema)
@rules_blp.response(200, SimulationSchema)
def simulate(args):
    try:
        return rulesets.simulate_rule_set(db_session(), rules=dump_rule_set(args["rules"]), start=args["start"],
                                           end=args["end"], team=args["team"])
    except ValidationError as exc:
        raise _invalid(exc, "") from exc


@platform_blp.route("/taskrouter/events", methods=["POST"])
@platform_blp.doc(summary="Twilio TaskRouter event callback (signed with X-Twilio-Signature)",
                  security=[{"twilioSignature": []}],
                  description="Set the workspace's Event Callback URL to `<server.public_base_url>/webhooks/taskrouter/"
                              "events`. reservation.wrapup / reservation.completed tell us the worker finished their "
                              "task (a granted `after_current` break starts); worker.activity.update to the Break, "
                              "Available or an Offline activity is the agent's state; task.completed / task.canceled "
                              "close our queue item. Other events are acknowledged and ignored.",
                  requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                      "type": "object", "properties": {name: {"type": "string"} for name in (
                          "EventType", "WorkerSid", "WorkerActivitySid", "WorkerActivityName", "TaskSid",
                          "TaskAttributes", "Timestamp")}}}}},
                  responses={"200": {"description": "Acknowledged", "content": {"application/json": {
                      "schema": {"type": "object"}}}},
                             "403": {"description": "Signature missing or invalid"},
                             "404": {"description": "TaskRouter is not the configured routing adapter"}})
def taskrouter_events():
    read_event = getattr(runtime().services["routing"], "read_event", None)
    if read_event is None:
        raise _not_found("TaskRouter is not the configured routing adapter (routing.adapter).")
    settings = runtime().settings
    form = verified_twilio_form(auth_token=settings.twilio.auth_token.reveal(),
                                public_base_url=settings.server.public_base_url)
    result = handover.apply_platform_event(db_session(), event=read_event(form), now=runtime().clock())
    db_session().commit()
    return jsonify(result)


BLUEPRINTS = (blp, rules_blp, platform_blp)
