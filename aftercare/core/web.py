"""Request-scoped helpers for every package's views, in the manner of flaskr's `get_db()`: a view reaches the
app's runtime, its database session and the caller's authorisation through `current_app`, never by importing
the app factory. Also the problem+json response and its OpenAPI description, which every view answers with.
"""
from __future__ import annotations

import functools
import http
from typing import Any, Callable, Mapping

from flask import Response, current_app, g, json
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy.orm import Session

from aftercare.core.outage import database_unreachable
from aftercare.core.problems import PROBLEM_JSON

RUNTIME = "aftercare"
AUTHORIZE = "aftercare.authorize"


def runtime() -> Any:
    """What the app owns (settings, database, clock, adapters); the shell builds it in `create_app`."""
    return current_app.extensions[RUNTIME]


def db_session() -> Session:
    """One session per request, closed (and rolled back unless committed) at teardown."""
    if "db_session" not in g:
        g.db_session = runtime().db.sessions()
    return g.db_session


def end_db_read() -> None:
    """Roll back the request's session if it opened one (an API-key check did), without making one to do so:
    a signed webhook on the queued door never needs the ORM session at all."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def close_db_session(_exc: BaseException | None = None) -> None:
    """At teardown: roll back and return the connection; one the database dropped is thrown away instead (the
    answer, a 503 or the spool's 200, has been given: teardown must not turn it into a 500)."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.rollback()
        session.close()
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        session.invalidate()


def require_scope(*allowed: str) -> Callable:
    """401 without a valid API key, 403 when the key lacks every allowed scope (or belongs to another agent).

    The check itself is the shell's (API keys are the shell's): it registers it as `app.extensions[AUTHORIZE]`,
    a callable taking the allowed scopes and the view's arguments.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            current_app.extensions[AUTHORIZE](allowed, kwargs)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def problem_json(body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None) -> Response:
    """Answer with problem details already built (`Problem.as_dict()`, or ones stored earlier), plus the request id."""
    body = dict(body)
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=body["status"], mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class FieldErrorSchema(Schema):
    field = fields.String(required=True, metadata={"description": "Dotted path of the bad field, or `body`"})
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error answers (extension members allowed)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"description": "`about:blank` or a problem type URI"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.List(fields.Nested(FieldErrorSchema), metadata={"description": "One entry per bad field"})
    request_id = fields.String(metadata={"description": "Quote it when asking about this request"})


def problem_doc(description: str) -> dict:
    """A response for `@blp.doc(responses=...)`: problem+json with an endpoint's own description."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ProblemSchema}}}


def problem_responses(blp, *statuses: int) -> Callable:
    """`@problem_responses(blp, 404, 409)`: document these statuses as problem+json (the shared components)."""

    def decorator(view: Callable) -> Callable:
        for status in statuses:
            view = blp.alt_response(status, response=http.HTTPStatus(status).name)(view)
        return view

    return decorator


def form_request_body(media_type: str, *names: str, required: tuple[str, ...] = ()) -> dict:
    """OpenAPI request body for a provider's form post: its fields, all strings (others are ignored)."""
    schema: dict[str, Any] = {"type": "object", "properties": {name: {"type": "string"} for name in names}}
    if required:
        schema["required"] = list(required)
    return {"required": True, "content": {media_type: {"schema": schema}}}


def ok_response(media_type: str, description: str, schema: dict | None = None) -> dict:
    """OpenAPI success response of a given media type (TwiML, HTML, JSON)."""
    return {"description": description, "content": {media_type: {"schema": schema or {"type": "string"}}}}
