"""JSON as the service accepts it, from a request body or a field inside one: plain Python, no Flask.

Python's parser raises RecursionError on deep nesting (a 500 wherever it was not expected), and takes NaN,
Infinity and 1e999, which no column can hold and RFC 8259 does not allow.
"""
from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 32  # arrays and objects inside each other; an event or a rule set needs fewer than 8


class JsonRefused(ValueError):
    """A body that is not JSON (`malformed`) or is JSON nested deeper than MAX_JSON_DEPTH."""

    def __init__(self, message: str, *, malformed: bool) -> None:
        super().__init__(message)
        self.malformed = malformed


def _not_json_number(text: str):
    raise ValueError(f"{text} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


def parse_json(raw: bytes | str) -> Any:
    """JSON as RFC 8259 defines it (no NaN, Infinity or numbers beyond a double), at most MAX_JSON_DEPTH deep."""
    try:
        value = json.loads(raw, parse_constant=_not_json_number, parse_float=_finite)
    except RecursionError as exc:
        raise JsonRefused(_too_deep(), malformed=False) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise JsonRefused(str(exc), malformed=True) from exc
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise JsonRefused(_too_deep(), malformed=False)
    return value


def _too_deep() -> str:
    return f"Arrays and objects may be nested at most {MAX_JSON_DEPTH} deep."


def _deeper_than(value: Any, limit: int) -> bool:
    """Without recursion: everything downstream (validation, the NUL walk, storing JSON) may then recurse."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
