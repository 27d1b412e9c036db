"""RFC 9457 problem details as plain data: the exception a use case or view raises, the body it answers with, and
marshmallow's nested errors named by dotted field path. The shell turns them into HTTP responses."""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

PROBLEM_TYPE_BASE = "https://aftercare.dev/problems/"
PROBLEM_JSON = "application/problem+json"


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


def _walk(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """marshmallow's nested errors as (dotted path, message); a schema-level error sits on its parent's path,
    a top-level one on ""."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _walk(value, prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            yield from _walk(item, prefix)
    else:
        yield prefix, str(messages)


def field_errors(messages: Any) -> list[dict[str, str]]:
    """{"a": {"b": ["msg"]}} → [{"field": "a.b", "message": "msg"}] (a problem's `errors`; top level = "body")."""
    return [{"field": path or "body", "message": message} for path, message in _walk(messages)]


def errors_by_field(messages: Any) -> dict[str, list[str]]:
    """The same errors grouped by path, {"rules.2.when.typo": [...]} (what a form shows next to each field;
    top level = "_schema")."""
    grouped: dict[str, list[str]] = {}
    for path, message in _walk(messages):
        grouped.setdefault(path or "_schema", []).append(message)
    return grouped


def validation_problem(messages: Any, title: str = "Invalid request body") -> Problem:
    errors = field_errors(messages)
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return Problem(422, title, f"Check these fields: {fields}", kind="validation", errors=errors)


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


def nul_problem(fields: list[str]) -> Problem:
    """422 naming the fields with NUL characters (PostgreSQL cannot store them in text)."""
    errors = [{"field": name, "message": "Must not contain NUL (\\u0000) characters."}
              for name in dict.fromkeys(fields)] or [{"field": "body", "message": "Text must not contain NUL."}]
    return Problem(422, "Invalid request body", "Text must not contain NUL (\\u0000) characters: "
                   + ", ".join(e["field"] for e in errors), kind="validation", errors=errors)
