"""The CRM outbox's HTTP edge: see the notices the CRM never took, and send one again once the cause is fixed."""
from __future__ import annotations

from aftercare.core.bodies import Blueprint
from aftercare.core.problems import Problem
from aftercare.core.web import db_session, require_scope, runtime
from followup.crm.models import CrmDelivery
from followup.crm.outbox import dead_letters, retry_dead_letter
from followup.crm.schemas import CrmDeliveryListSchema, CrmDeliverySchema, DeadLetterQuerySchema

blp = Blueprint("crm_outbox", __name__, url_prefix="/api/v1/crm",
                description="Reopen notices for the CRM that ran out of retries (dead letters)")
SECURITY = [{"bearerAuth": []}]


@blp.route("/dead-letters")
@blp.doc(security=SECURITY, summary="Reopen notices the CRM never took, newest first")
@require_scope("manager", "read")
@blp.arguments(DeadLetterQuerySchema, location="query")
@blp.response(200, CrmDeliveryListSchema)
def list_dead_letters(args):
    return {"items": dead_letters(db_session(), limit=args["limit"])}


@blp.route("/dead-letters/<delivery_id>/retry", methods=["POST"])
@blp.doc(security=SECURITY, summary="Send a dead letter again: pending, due now, with a full set of attempts",
         responses={"404": {"description": "No such delivery"}, "409": {"description": "Not a dead letter"}})
@require_scope("manager")
@blp.response(202, CrmDeliverySchema)
def retry(delivery_id: str):
    session = db_session()
    delivery = session.get(CrmDelivery, delivery_id)
    if delivery is None:
        raise Problem(404, "Not Found", f"No CRM delivery {delivery_id!r}.", kind="not-found")
    if delivery.state != "dead":
        raise Problem(409, "Conflict", f"CRM delivery {delivery_id!r} is {delivery.state}; only a dead letter can be "
                                       "retried.", kind="conflict")
    retry_dead_letter(session, delivery=delivery, now=runtime().clock())
    session.commit()
    return delivery
