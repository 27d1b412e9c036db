"""marshmallow schemas for known problems and reopen insights (SPEC §12) at the HTTP edge and in CRM events."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from aftercare.core.fields import DAY_OR_INSTANT, DayOrInstant, Instant, Stored, WindowQuerySchema
from followup.models import Case
from followup.problem_models import PROBLEM_STATES, KnownProblem



class ProblemFieldsSchema(Schema):
    """What declares a problem, from a manager (`POST /api/v1/problems`) or the CRM (`problem.opened`)."""

    title = Stored(KnownProblem.title, min=1, required=True)
    category = Stored(KnownProblem.category, Case.category, min=1, required=True)
    journey_stage = Stored(KnownProblem.journey_stage, Case.journey_stage, allow_none=True)
    from_ = Instant(data_key="from", metadata={
        "description": "Interactions that ended from then on belong to the problem (required unless `case_ids` are "
                       "given; without it the problem starts now)"})
    to = Instant(allow_none=True, metadata={"description": "Window end (none: still happening, later cases join)"})
    case_ids = fields.List(Stored(Case.id, min=1), load_default=list, validate=validate.Length(max=1000),
                           metadata={"description": "Cases to take in whatever their category"})

    @validates_schema
    def _not_blank(self, data, **kwargs):
        """A title or category of spaces only would be a problem nobody can name on the dashboard or match."""
        blank = {name: ["Must not be blank."] for name in ("title", "category")
                 if isinstance(data.get(name), str) and not data[name].strip()}
        if blank:
            raise ValidationError(blank)

    @validates_schema
    def _window_or_cases(self, data, **kwargs):
        if not data.get("from_") and not data.get("case_ids"):
            raise ValidationError("Give the window's start, or the case ids.", "from")
        if data.get("to") and data.get("from_") and data["to"] <= data["from_"]:
            raise ValidationError("Must be after 'from'.", "to")


class ProblemCreateSchema(ProblemFieldsSchema):
    class Meta:
        unknown = RAISE


class ResolveSchema(Schema):
    class Meta:
        unknown = RAISE

    message = fields.String(allow_none=True, validate=validate.Length(max=300),
                            metadata={"description": "Your own words, added to every fix notice"})


class ProblemQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    state = fields.String(validate=validate.OneOf(PROBLEM_STATES))


class ProblemSummarySchema(Schema):
    id = fields.String()
    title = fields.String()
    category = fields.String()
    journey_stage = fields.String(allow_none=True)
    state = fields.String()
    source = fields.String()
    from_ = fields.DateTime(data_key="from", attribute="from")
    to = fields.DateTime(allow_none=True)
    opened_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    affected = fields.Integer(metadata={"description": "Customers with a case in the problem"})
    cases = fields.Integer()
    repeat_contacts = fields.Integer(metadata={"description": "customer.contacted in the category by affected "
                                                              "customers since the window start"})


class ProblemListSchema(Schema):
    items = fields.List(fields.Nested(ProblemSummarySchema))


class ProblemDetailSchema(ProblemSummarySchema):
    message = fields.String(allow_none=True)
    affected_customers = fields.List(fields.Dict())
    notified = fields.List(fields.Dict(), metadata={"description": "Fix notice sent"})
    pending = fields.List(fields.Dict(), metadata={"description": "Fix notice scheduled (quiet hours), not sent yet"})
    skipped = fields.List(fields.Dict(), metadata={
        "description": "No fix notice, with `code`: control, no_consent, opted_out, capped, case_reopened, not_sent"})
    skipped_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    replies = fields.List(fields.Dict(), metadata={"description": "Replies to fix notices (masked)"})
    reopened = fields.Integer()
    repeat_contacts_in_category = fields.Dict(metadata={
        "description": "customer.contacted in the category in `window_days` before the fix and since it"})


class InsightsQuerySchema(WindowQuerySchema):
    from_ = DayOrInstant(data_key="from", metadata={"description": "Window start (default: `insights.window_days` "
                                                                   "before `to`)", **DAY_OR_INSTANT})


class ReopenReasonsSchema(Schema):
    window = fields.Dict()
    previous_window = fields.Dict()
    reopens = fields.Dict(metadata={"description": "count, previous, change, change_pct, trend (up/down/flat/new)"})
    reasons = fields.List(fields.Dict(), metadata={"description": "Per reason category: counts, trend and three "
                                                                  "masked example replies"})
    root_causes = fields.List(fields.Dict())
    by_category = fields.List(fields.Dict())
    by_journey_stage = fields.List(fields.Dict())
    by_team = fields.List(fields.Dict())
