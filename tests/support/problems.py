"""Checking a refusal: a problem+json naming the field, and every table's row count unchanged."""
from __future__ import annotations

from sqlalchemy import func, select

from aftercare.model_registry import metadata


def row_counts(rt) -> dict[str, int]:
    with rt.db.session() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) for t in metadata.sorted_tables
                if t.name != "api_keys"}


def assert_problem(resp, status: int, field: str | None = None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["title"]
    if field:
        assert field in [e["field"] for e in body["errors"]], body
    return body
