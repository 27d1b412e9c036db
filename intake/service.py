"""What each CRM event does once accepted: one handler per type, run inline by the webhook or by the workers.

No Flask here: `intake.views` runs these inside the request (`crm.intake_mode = "inline"`), and
`intake.queue` runs them in the worker processes for events stored by the door
(`"queued"`). Either way one event is one unit of work in the caller's transaction.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from aftercare.core.problems import Problem
from aftercare.core.unit_of_work import UnitOfWork, commit_once
from followup import services as followup
from intake.models import WebhookEvent


def interaction_closed(session, event: dict, now: datetime, ctx: followup.FollowupContext) -> dict:
    interaction = event["interaction"]
    result = followup.record_interaction_closed(session, ctx=ctx, event_id=event["event_id"],
                                                interaction=interaction, agent=event.get("agent"),
                                                customer=event["customer"], now=now, origin=event.get("origin"))
    result["agent_load"] = _agent_load(session, event, now)
    return result


def case_updated(session, event: dict, now: datetime, ctx: followup.FollowupContext) -> dict:
    case = event["case"]
    status = {"pending": "open", "solved": "closed"}.get(case.get("status"), case.get("status"))
    return followup.record_case_updated(session, ctx=ctx, case_id=case["id"], status=status, now=now,
                                        root_cause=case.get("root_cause") or event.get("root_cause"))


def customer_contacted(session, event: dict, now: datetime, ctx: followup.FollowupContext) -> dict:
    case_ref = event.get("case") or {}
    followup.record_contact(session, event_id=event["event_id"], customer_id=event["customer"]["id"],
                                 case_id=case_ref.get("id"), journey_stage=event.get("journey_stage"),
                                 category=event.get("category"), occurred_at=event["occurred_at"], now=now)
    return followup.record_customer_contacted(session, customer_id=event["customer"]["id"],
                                              case_id=case_ref.get("id"), now=now)


def customer_churned(session, event: dict, now: datetime, ctx: followup.FollowupContext) -> dict:
    return followup.record_churn(session, event_id=event["event_id"], customer_id=event["customer"]["id"],
                                      occurred_at=event["occurred_at"], reason=event.get("reason"), now=now)


def agent_status(session, event: dict, now: datetime, ctx: followup.FollowupContext) -> dict:
    agent = event["agent"]
    return {"agent": wellbeing.report_state(session, agent_id=agent["id"], state=event["status"], now=now,
                                            reported_at=event["occurred_at"], name=agent.get("name"),
                                            team=agent.get("team"))}


def problem_opened(session, event: dict, now: datetime, ctx: followup.FollowupContext) -> dict:
    body = event["problem"]
    problem = followup.open_problem(session, problem_id=body["id"], title=body["title"], category=body["category"],
                                    journey_stage=body.get("journey_stage"), start=body.get("from_") or now, end=body.get("to"),
                                    case_ids=body.get("case_ids"), source=f"crm:{event['event_id']}", now=now)
    return {"problem": _problem_result(session, problem.id, now, ctx)}


def problem_resolved(session, event: dict, now: datetime, ctx: followup.FollowupContext) -> dict:
    body = event["problem"]
    followup.resolve_problem(session, ctx=ctx, problem_id=body["id"], now=now, by=f"crm:{event['event_id']}",
                             message=body.get("message"))
    return {"problem": _problem_result(session, body["id"], now, ctx)}


def _problem_result(session, problem_id: str, now: datetime, ctx: followup.FollowupContext) -> dict:
    """What the webhook answers: the problem's counts (the detail is at GET /api/v1/problems/<id>)."""
    detail = followup.problem_detail(session, problem_id=problem_id, now=now,
                                     repeat_days=ctx.settings.insights.repeat_window_days)
    return {"id": problem_id, "state": detail["state"], "affected": detail["affected"], "cases": detail["cases"],
            "notified": len(detail["notified"]), "pending": len(detail["pending"]),
            "skipped": detail["skipped_by_reason"]}


HANDLERS = {"interaction.closed": interaction_closed, "case.updated": case_updated,
            "customer.contacted": customer_contacted, "customer.churned": customer_churned,
            "agent.status": agent_status, "problem.opened": problem_opened, "problem.resolved": problem_resolved}


def order_keys(event: dict) -> dict[str, str]:
    """The case, customer and agent a queued event touches: it waits behind every earlier queued event that
    shares any of them, so what inline mode does in arrival order, queued mode does in the same order
    (a `customer.contacted` cancels the check-in an earlier `interaction.closed` of that customer made).
    Events sharing none of them are acted on in parallel, as concurrent inline webhooks would be."""
    keys = {}
    if event["type"] == "interaction.closed":
        keys["case_key"] = event["interaction"]["case_id"]
    elif event.get("case"):
        keys["case_key"] = event["case"]["id"]
    elif event.get("problem"):  # problem.resolved waits behind its problem.opened
        keys["case_key"] = f"problem:{event['problem']['id']}"
    if event.get("customer"):
        keys["customer_key"] = event["customer"]["id"]
    if event.get("agent") and event["type"] in ("interaction.closed", "agent.status"):
        keys["agent_key"] = event["agent"]["id"]
    return keys


def apply_event(session, event: dict, now: datetime, ctx: followup.FollowupContext) -> dict:
    """Act on one validated event (its schema is in intake.schemas.SCHEMAS); the caller commits."""
    result = HANDLERS[event["type"]](session, event, now, ctx)
    return {"event_id": event["event_id"], "status": "processed", **result}


def triage_at_the_door(event: dict, ctx: followup.FollowupContext) -> dict | None:
    """The triage a queued interaction.closed will get: pure, so the door can answer it before the workers act.

    The worker's `record_interaction_closed` runs the same function on the same facts and settings.
    """
    if event["type"] != "interaction.closed":
        return None
    return followup.triage_interaction(event["interaction"], ctx)


def _agent_load(session, event: dict, now: datetime) -> dict | None:
    agent, interaction = event.get("agent"), event["interaction"]
    if not agent:
        return None
    result = wellbeing.record_interaction(session, agent_id=agent["id"], agent_name=agent.get("name"),
                                          team=agent.get("team"), interaction=_load_input(interaction, now))
    result["break"] = wellbeing.plan_break(session, agent_id=agent["id"], interaction_id=interaction["id"], now=now)
    return result


def _load_input(interaction: dict, now: datetime) -> wellbeing.InteractionLoadInput:
    started, ended = interaction.get("started_at"), interaction.get("ended_at")
    return wellbeing.InteractionLoadInput(
        interaction_id=interaction["id"], at=ended or now, sentiment=interaction.get("customer_sentiment"),
        signals=tuple(interaction.get("signals") or ()), escalated_from_bot=interaction.get("escalated_from_bot", False),
        resolution=interaction.get("resolution", "unknown"),
        duration_seconds=(ended - started).total_seconds() if started and ended else None,
        category=interaction.get("category"))


def batchable(event: dict, ctx: followup.FollowupContext) -> bool:
    """An event the batched worker acts on with set-based statements (`apply_batch`); any other goes through
    `apply_event` one by one (a new event type needs no batch support to work)."""
    return event["type"] == "interaction.closed" and not followup.needs_single_handling(event["interaction"], ctx)


def apply_batch(session, events: list[dict], now: datetime, ctx: followup.FollowupContext) -> list[dict | Problem]:
    """Act on a run of `batchable` events in the caller's transaction: for each, in order, what `apply_event`
    would return, or the Problem it would raise (a refused event writes nothing)."""
    closed = followup.record_interactions_closed(session, ctx=ctx, now=now, items=[
        followup.ClosedInteraction(event_id=e["event_id"], interaction=e["interaction"], customer=e["customer"],
                                   agent=e.get("agent"), origin=e.get("origin")) for e in events])
    loaded = [n for n, (e, r) in enumerate(zip(events, closed)) if not isinstance(r, Problem) and e.get("agent")]
    loads = wellbeing.record_interactions(session, now=now, items=[
        wellbeing.AgentInteraction(agent_id=events[n]["agent"]["id"], agent_name=events[n]["agent"].get("name"),
                                   team=events[n]["agent"].get("team"),
                                   interaction=_load_input(events[n]["interaction"], now)) for n in loaded])
    by_event = dict(zip(loaded, loads))
    out: list[dict | Problem] = []
    for n, (event, result) in enumerate(zip(events, closed)):
        if isinstance(result, Problem):
            out.append(result)
            continue
        out.append({"event_id": event["event_id"], "status": "processed", **result, "agent_load": by_event.get(n)})
    return out


def received(session: Session, event_id: str) -> WebhookEvent | None:
    """What was received under this event id, if anything (a repeat gets the original answer)."""
    return session.get(WebhookEvent, event_id)


def act_inline(uow: UnitOfWork, event: dict, *, now: datetime, ctx: followup.FollowupContext
               ) -> tuple[dict, WebhookEvent | None]:
    """Inline intake (`crm.intake_mode = "inline"`): act on the event and record it as received, in one unit of
    work. Returns the result, or — when a concurrent delivery of the same event id got there first — what that
    one stored (the caller answers it as a repeat). 409 when the interaction came under another event id."""
    result = apply_event(uow.session, event, now, ctx)
    uow.session.add(WebhookEvent(event_id=event["event_id"], type=event["type"], status_code=202, response=result,
                                 received_at=now, processed_at=now))
    if commit_once(uow):
        return result, None
    seen = received(uow.session, event["event_id"])
    if seen is None:
        raise Problem(409, "Conflict", "This interaction was already recorded under another event_id.",
                      kind="conflict")
    return result, seen
