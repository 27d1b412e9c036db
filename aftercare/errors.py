"""RFC 9457 problem details for every error: validation, auth, 404/405/413 and unexpected 500s."""
from __future__ import annotations

import http
import logging
from typing import Any, Callable, Iterable, Mapping

from apispec import BasePlugin
from flask import Flask, Response, g, json
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

PROBLEM_TYPE_BASE = "https://aftercare.dev/problems/"
PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("aftercare.errors")


class Problem(Exception):
    """Raised anywhere in a request to answer with problem+json."""

    def __init__(self, status: int, title: str, detail: str | None = None, *, kind: str | None = None,
                 errors: Iterable[Mapping[str, Any]] | None = None, headers: Mapping[str, str] | None = None,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.kind = status, title, detail, kind
        self.errors = list(errors or [])
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def as_dict(self) -> dict[str, Any]:
        return problem_body(self.status, self.title, self.detail, kind=self.kind, errors=self.errors,
                            extra=self.extra)


def flatten_messages(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """marshmallow's nested {"a": {"b": ["msg"]}} → [{"field": "a.b", "message": "msg"}]."""
    out: list[dict[str, str]] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            out.extend(flatten_messages(value, name))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            out.extend(flatten_messages(item, prefix))
    else:
        out.append({"field": prefix or "body", "message": str(messages)})
    return out


def validation_problem(messages: Any, title: str = "Invalid request body") -> Problem:
    errors = flatten_messages(messages)
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return Problem(422, title, f"Check these fields: {fields}", kind="validation", errors=errors)


def problem_body(status: int, title: str, detail: str | None = None, *, kind: str | None = None,
                 errors: list | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The RFC 9457 members (request_id is added by the response, when there is a request)."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + kind if kind else "about:blank", "title": title,
                            "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    return body


def problem_response(status: int, title: str, detail: str | None = None, *, kind: str | None = None,
                     errors: list | None = None, headers: Mapping[str, str] | None = None,
                     extra: Mapping[str, Any] | None = None) -> Response:
    return problem_json(problem_body(status, title, detail, kind=kind, errors=errors, extra=extra), headers=headers)


def problem_json(body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None) -> Response:
    """Answer with problem details already built (`Problem.as_dict()`, or ones stored earlier), plus the request id."""
    body = dict(body)
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=body["status"], mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _from_http_exception(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if error.code == 422 and messages:
        if isinstance(messages, Mapping) and len(messages) == 1 and next(iter(messages)) in ("json", "query", "form", "view_args"):
            messages = next(iter(messages.values()))
        return problem_json(validation_problem(messages).as_dict())
    detail = data.get("message") or error.description
    headers = dict(data.get("headers") or {})
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem_response(error.code or 500, error.name, detail, headers=headers)


def register_error_handlers(app: Flask) -> None:
    """Override flask-smorest's JSON errors and Flask's HTML ones with problem+json."""

    @app.errorhandler(Problem)
    def _problem(p: Problem):
        return problem_json(p.as_dict(), headers=p.headers)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if isinstance(error, InternalServerError):
            return _unexpected(getattr(error, "original_exception", None) or error)
        return _from_http_exception(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if _is_nul_refusal(error):
            return _nul_problem()
        log.exception("unhandled error", exc_info=error)
        return problem_response(500, "Internal Server Error",
                                "Something went wrong on our side; nothing was half-written. Quote the request id.")


def _is_nul_refusal(error: Exception) -> bool:
    """PostgreSQL refuses NUL in text (SQLite stores it): that is the client's bad input, not our failure."""
    from sqlalchemy.exc import DataError

    return isinstance(error, DataError) and "NUL" in str(error.orig)


def nul_fields(value: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the strings (keys included) in `value` that contain a NUL character."""
    if isinstance(value, str):
        return [prefix or "body"] if "\x00" in value else []
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            found.extend([name] if "\x00" in str(key) else nul_fields(item, name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            found.extend(nul_fields(item, prefix))
    return found


def _nul_problem() -> Response:
    from flask import request

    fields = nul_fields(request.view_args or {}) + nul_fields(request.args.to_dict()) + \
        nul_fields(request.form.to_dict()) + nul_fields(request.get_json(silent=True) or {})
    return problem_json(nul_problem(fields).as_dict())


def nul_problem(fields: list[str]) -> Problem:
    """422 naming the fields with NUL characters (PostgreSQL cannot store them in text)."""
    errors = [{"field": name, "message": "Must not contain NUL (\\u0000) characters."}
              for name in dict.fromkeys(fields)] or [{"field": "body", "message": "Text must not contain NUL."}]
    return Problem(422, "Invalid request body", "Text must not contain NUL (\\u0000) characters: "
                   + ", ".join(e["field"] for e in errors), kind="validation", errors=errors)


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


class ProblemApi(Api):
    """flask-smorest's Api with every error response documented as problem+json (as they are answered)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        self.spec.components.schema("Problem", schema=ProblemSchema)
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = ProblemSchema
                prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as RFC 9457 problem details", "schema": ProblemSchema}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


class ProblemResponsesPlugin(BasePlugin):
    """Documents the errors every operation can answer (401/403 behind an API key, 404 for an unknown id), and
    gives an error documented by description alone the problem+json body it is answered with."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if any("bearerAuth" in requirement for requirement in operation.get("security") or []):
                responses.setdefault("401", "UNAUTHORIZED")
                responses.setdefault("403", "FORBIDDEN")
            if path and "{" in path:
                responses.setdefault("404", "NOT_FOUND")
            for code, response in responses.items():
                if str(code).isdigit() and int(code) >= 400 and isinstance(response, dict) \
                        and "content" not in response and "$ref" not in response:
                    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


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
