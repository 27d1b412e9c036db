"""followup's HTTP edge: check-ins, cases and replies under /api/v1 (load, call a service, dump)."""
from __future__ import annotations

from sqlalchemy import select

import wellbeing.services as wellbeing
from aftercare.core.bodies import Blueprint
from aftercare.core.problems import Problem
from aftercare.core.unit_of_work import SessionUnitOfWork
from aftercare.core.web import db_session, require_scope, runtime
from followup import inbound
from followup.checkins import make_due_now
from followup.models import Case, CheckIn, Interaction, Reply
from followup.schemas import (
    CaseSchema,
    CheckinListSchema,
    CheckinQuerySchema,
    CheckinSchema,
    RepliesQuerySchema,
    ReplyListSchema,
    ReplyOutcomeSchema,
    SimulateReplySchema,
)

blp = Blueprint("followup", __name__, url_prefix="/api/v1", description="Check-ins, cases and replies")
SECURITY = [{"bearerAuth": []}]


def _checkin_or_404(checkin_id: str) -> CheckIn:
    checkin = db_session().get(CheckIn, checkin_id)
    if checkin is None:
        raise Problem(404, "Not Found", f"No check-in {checkin_id!r}.", kind="not-found")
    return checkin


@blp.route("/checkins")
@blp.doc(security=SECURITY)
@require_scope("read")
@blp.arguments(CheckinQuerySchema, location="query")
@blp.response(200, CheckinListSchema)
def list_checkins(args):
    stmt = select(CheckIn).order_by(CheckIn.due_at.desc()).limit(args["limit"])
    if "state" in args:
        stmt = stmt.where(CheckIn.state == args["state"])
    if "case_id" in args:
        stmt = stmt.where(CheckIn.case_id == args["case_id"])
    return {"items": list(db_session().scalars(stmt))}


@blp.route("/checkins/<checkin_id>")
@blp.doc(security=SECURITY)
@require_scope("read")
@blp.response(200, CheckinSchema)
def get_checkin(checkin_id: str):
    return _checkin_or_404(checkin_id)


@blp.route("/checkins/<checkin_id>/send-now", methods=["POST"])
@blp.doc(security=SECURITY, summary="Make a scheduled check-in due now (it still goes through the dispatcher)")
@require_scope("manager")
@blp.response(202, CheckinSchema)
def send_now(checkin_id: str):
    checkin = _checkin_or_404(checkin_id)
    if checkin.state != "scheduled":
        raise Problem(409, "Conflict", f"Check-in is {checkin.state}; only a scheduled one can be sent now.",
                      kind="conflict")
    make_due_now(db_session(), checkin=checkin, now=runtime().clock())
    db_session().commit()
    return checkin


@blp.route("/checkins/<checkin_id>/simulate-reply", methods=["POST"])
@blp.doc(security=SECURITY, summary="SIMULATION: inject a customer reply (console channel only)")
@require_scope("manager")
@blp.arguments(SimulateReplySchema)
@blp.response(200, ReplyOutcomeSchema)
def simulate_reply(args, checkin_id: str):
    rt = runtime()
    return inbound.simulate_reply(SessionUnitOfWork(db_session()), checkin=_checkin_or_404(checkin_id),
                                  text=args["text"], now=rt.clock(), crm=rt.services["crm"], ctx=rt.followup)


@blp.route("/cases/<case_id>")
@blp.doc(security=SECURITY)
@require_scope("read")
@blp.response(200, CaseSchema)
def get_case(case_id: str):
    session = db_session()
    case = session.get(Case, case_id)
    if case is None:
        raise Problem(404, "Not Found", f"No case {case_id!r}.", kind="not-found")
    return {**{c: getattr(case, c) for c in ("id", "state", "customer_id", "agent_id", "team", "journey_stage",
                                             "category", "desk", "desk_ref", "reopen_reason", "reopen_category",
                                             "root_cause", "reopened_at",
                                             "loop_closed_at")},
            "interactions": list(session.scalars(select(Interaction).where(Interaction.case_id == case_id)
                                                 .order_by(Interaction.ended_at))),
            "checkins": list(session.scalars(select(CheckIn).where(CheckIn.case_id == case_id)
                                             .order_by(CheckIn.due_at))),
            "replies": list(session.scalars(select(Reply).where(Reply.case_id == case_id)
                                            .order_by(Reply.received_at))),
            "queue_items": wellbeing.queue_items(session, state=None, case_id=case_id)}


@blp.route("/replies")
@blp.doc(security=SECURITY, summary="Customer replies; `unmatched=true` lists those that matched no check-in")
@require_scope("read")
@blp.arguments(RepliesQuerySchema, location="query")
@blp.response(200, ReplyListSchema)
def list_replies(args):
    stmt = select(Reply).order_by(Reply.received_at.desc()).limit(args["limit"])
    if args["unmatched"]:
        stmt = stmt.where(Reply.checkin_id.is_(None))
    return {"items": list(db_session().scalars(stmt))}
