"""Request bodies as every door reads them: never past `server.max_body_bytes`, JSON strict and shallow.

Why: werkzeug refuses a body whose Content-Length is over the limit, but reads a chunked body (no length)
only up to the limit and then stops without a word, so the rest was silently ignored. JSON bodies go
through `aftercare.strict_json` (the CRM webhook, SendGrid events and every `@blp.arguments` body).
"""
from __future__ import annotations

import io
from typing import Any

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.wsgi import get_content_length

from aftercare.core.problems import Problem
from aftercare.core.strict_json import JsonRefused, parse_json


class BoundedBodies:
    """WSGI middleware: a body without a length is read here, up to one byte past the limit, and handed on
    with the length it has, so werkzeug's own check answers 413 wherever it is read, as for a declared
    Content-Length. Servers that terminate the stream themselves say so with `wsgi.input_terminated`
    (gunicorn always; werkzeug's for chunked requests); without it werkzeug reads no body at all."""

    def __init__(self, wsgi_app, limit: int | None) -> None:
        self.wsgi_app, self.limit = wsgi_app, limit

    def __call__(self, environ, start_response):
        if self.limit is not None and environ.get("wsgi.input_terminated") and get_content_length(environ) is None:
            body = _read_at_most(environ["wsgi.input"], self.limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))  # over the limit: at least this long, which is enough
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.wsgi_app(environ, start_response)


def _read_at_most(stream, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        chunk = stream.read(min(64 * 1024, size - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def json_problem(error: JsonRefused, field: str = "body") -> Problem:
    if error.malformed:
        return Problem(400, "Malformed JSON", f"The body is not valid JSON: {error}", kind="malformed-json",
                       errors=[{"field": field, "message": f"Not valid JSON: {error}"}])
    return Problem(422, "Invalid request body", str(error), kind="validation",
                   errors=[{"field": field, "message": str(error)}])


def read_json(raw: bytes | str) -> Any:
    """`parse_json` for a request: a refusal is a 400 or 422 problem naming the body."""
    try:
        return parse_json(raw)
    except JsonRefused as exc:
        raise json_problem(exc) from exc


class StrictJsonParser(FlaskParser):
    """webargs' parser with `aftercare.strict_json`'s rules for every `@blp.arguments` JSON body."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        raw = req.get_data(cache=True)
        return read_json(raw) if raw else core.missing


class Blueprint(flask_smorest.Blueprint):
    """The API's blueprints: flask-smorest's, parsing bodies with StrictJsonParser."""

    ARGUMENTS_PARSER = StrictJsonParser()
