"""RFC 9457 problem details for every error: validation, auth, 404/405/413 and unexpected 500s."""
from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping

from flask import Flask, Response, g, json
from werkzeug.exceptions import HTTPException, InternalServerError

PROBLEM_TYPE_BASE = "https://aftercare.dev/problems/"
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


def problem_response(status: int, title: str, detail: str | None = None, *, kind: str | None = None,
                     errors: list | None = None, headers: Mapping[str, str] | None = None,
                     extra: Mapping[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + kind if kind else "about:blank", "title": title,
                            "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extra or {})
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _from_http_exception(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if error.code == 422 and messages:
        if isinstance(messages, Mapping) and len(messages) == 1 and next(iter(messages)) in ("json", "query", "form", "view_args"):
            messages = next(iter(messages.values()))
        p = validation_problem(messages)
        return problem_response(p.status, p.title, p.detail, kind=p.kind, errors=p.errors)
    detail = data.get("message") or error.description
    headers = dict(data.get("headers") or {})
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem_response(error.code or 500, error.name, detail, headers=headers)


def register_error_handlers(app: Flask) -> None:
    """Override flask-smorest's JSON errors and Flask's HTML ones with problem+json."""

    @app.errorhandler(Problem)
    def _problem(p: Problem):
        return problem_response(p.status, p.title, p.detail, kind=p.kind, errors=p.errors, headers=p.headers,
                                extra=p.extra)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if isinstance(error, InternalServerError):
            return _unexpected(getattr(error, "original_exception", None) or error)
        return _from_http_exception(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error", exc_info=error)
        return problem_response(500, "Internal Server Error",
                                "Something went wrong on our side; nothing was half-written. Quote the request id.")
