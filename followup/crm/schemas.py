"""marshmallow schemas for the CRM outbox's HTTP edge."""
from marshmallow import EXCLUDE, Schema, fields, validate


class DeadLetterQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class CrmDeliverySchema(Schema):
    id = fields.String()
    case_id = fields.String()
    adapter = fields.String()
    state = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.DateTime()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    payload = fields.Dict()


class CrmDeliveryListSchema(Schema):
    items = fields.List(fields.Nested(CrmDeliverySchema))
