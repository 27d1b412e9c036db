"""wellbeing's HTTP edge: the builtin routing queue."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from aftercare.app import db_session
from aftercare.auth import require_scope
from wellbeing.models import QUEUE_STATES
from wellbeing.services import queue_items

blp = Blueprint("wellbeing", __name__, url_prefix="/api/v1", description="Routing queue and agent wellbeing")


class QueueQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(load_default="queued", validate=validate.OneOf(QUEUE_STATES))
    team = fields.String(validate=validate.Length(1, 128))
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))


class QueueListSchema(Schema):
    items = fields.List(fields.Dict())


@blp.route("/routing/queue")
@blp.doc(security=[{"bearerAuth": []}], summary="Builtin routing queue, highest priority first")
@require_scope("read", "agent")
@blp.arguments(QueueQuerySchema, location="query")
@blp.response(200, QueueListSchema)
def routing_queue(args):
    return {"items": queue_items(db_session(), state=args["state"], team=args.get("team"), limit=args["limit"])}
