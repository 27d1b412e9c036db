"""Every error as RFC 9457 problem details: the app's handlers (validation, auth, 404/405/413, an unreachable
database's 503, unexpected 500s) and the OpenAPI description of them."""
from __future__ import annotations

import http
import logging
from typing import Any, Mapping

from apispec import BasePlugin
from flask import Flask, Response, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError

from aftercare.core.outage import database_unreachable, outage_problem
from aftercare.core.problems import PROBLEM_JSON, Problem, nul_fields, nul_problem, problem_body, validation_problem
from aftercare.core.web import ProblemSchema, problem_json, runtime

log = logging.getLogger("aftercare.errors")


def problem_response(status: int, title: str, detail: str | None = None, *, kind: str | None = None,
                     errors: list | None = None, headers: Mapping[str, str] | None = None,
                     extra: Mapping[str, Any] | None = None) -> Response:
    return problem_json(problem_body(status, title, detail, kind=kind, errors=errors, extra=extra), headers=headers)


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
        if database_unreachable(error):
            return _outage()
        log.exception("unhandled error", exc_info=error)
        return problem_response(500, "Internal Server Error",
                                "Something went wrong on our side; nothing was half-written. Quote the request id.")


def _outage() -> Response:
    """The database is unreachable (SPEC §8): 503 with Retry-After, never a 500, whichever view was asked. This
    process's status logs the outage once (`aftercare.core.outage`), not once per request."""
    problem = outage_problem(runtime().settings.server.outage_retry_after_seconds)
    return problem_json(problem.as_dict(), headers=problem.headers)


def _is_nul_refusal(error: Exception) -> bool:
    """PostgreSQL refuses NUL in text (SQLite stores it): that is the client's bad input, not our failure."""
    return isinstance(error, DataError) and "NUL" in str(error.orig)


def _nul_problem() -> Response:
    fields = nul_fields(request.view_args or {}) + nul_fields(request.args.to_dict()) + \
        nul_fields(request.form.to_dict()) + nul_fields(request.get_json(silent=True) or {})
    return problem_json(nul_problem(fields).as_dict())


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


# Operations that answer without the database; every other one answers 503 while it is unreachable.
WITHOUT_DATABASE = frozenset({"/healthz", "/metrics", "/static/swagger-ui/{filename}"})


class ProblemResponsesPlugin(BasePlugin):
    """Documents the errors every operation can answer (401/403 behind an API key, 404 for an unknown id, 503 while
    the database is unreachable), and
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
            if path not in WITHOUT_DATABASE:
                responses.setdefault("503", "SERVICE_UNAVAILABLE")
            for code, response in responses.items():
                if str(code).isdigit() and int(code) >= 400 and isinstance(response, dict) \
                        and "content" not in response and "$ref" not in response:
                    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
