"""Set-based writes: many rows in one statement, the same on PostgreSQL and SQLite.

Why RETURNING: SQLAlchemy renders an executemany INSERT as one `INSERT … VALUES (…), (…), …` per page of rows
("insertmanyvalues") only when the statement returns something; without it the driver runs one statement per
row. The batched intake (`intake.queue`) writes a whole batch of events with one statement per table.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: Sequence[dict]) -> None:
    """INSERT every row (all with the same keys) in the caller's transaction."""
    if rows:
        key = table.primary_key.columns[0]
        session.connection().execute(table.insert().returning(key), list(rows)).all()


def upsert_rows(session: Session, table: Table, rows: Sequence[dict], *, update: Sequence[str] | Callable,
                where: Any = None) -> None:
    """INSERT every row, or for a primary key already stored, set the `update` columns to the row's values
    (only where `where` holds, when given; `update` may instead be a function of the proposed row, `excluded`,
    giving column → expression). At most one row per key: a statement cannot touch a row twice."""
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table)
    keys = [column.name for column in table.primary_key.columns]
    values = update(stmt.excluded) if callable(update) else {name: stmt.excluded[name] for name in update}
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=values, where=where)
    session.connection().execute(stmt.returning(*table.primary_key.columns), list(rows)).all()
