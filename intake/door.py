"""The queued door: one durable INSERT per verified event (or nothing, for a repeat of its event_id).

Why: acting on an interaction.closed takes a couple of dozen statements (customer, case, interaction, check-in,
load ledger, break planner); storing it takes one. A CRM that closes thousands of tickets in a burst gets its
202s at the speed of the INSERT, and nothing is lost once the 202 is sent.
"""
from __future__ import annotations

import os
import threading
from datetime import datetime

import psycopg
from psycopg.types.json import Json
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from aftercare.core.db import CONNECT_TIMEOUT_SECONDS, Database
from aftercare.core.outage import DATABASE, database_unreachable
from intake.models import ORDER_KEYS, WebhookEvent


def store_queued(db: Database, *, event_id: str, type: str, payload: dict, response: dict, keys: dict,
                 now: datetime) -> bool:
    """INSERT the event unless its event_id is already stored; True when this call stored it.

    On PostgreSQL this is the one statement a queued webhook costs, so it skips the ORM and the pool: a
    per-process psycopg connection in autocommit (no BEGIN/COMMIT round trips; the row is durable when
    the statement returns) with the statement prepared server-side after its first uses.
    """
    values = dict(event_id=event_id, type=type, status_code=202, response=response, received_at=now,
                  state="queued", payload=payload, attempts=0, **{name: keys.get(name) for name in ORDER_KEYS})
    table = WebhookEvent.__table__
    if db.is_sqlite:
        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
        with db.engine.begin() as conn:
            return conn.execute(stmt.returning(table.c.event_id)).first() is not None
    params = {**values, "response": Json(response), "payload": Json(payload),
              "received_at": table.c.received_at.type.process_bind_param(now, None)}
    return _door(db).insert(params)


class _PgDoor:
    """One autocommit psycopg connection per process (made after gunicorn forks), reopened if it drops.

    Connected with the same arguments SQLAlchemy's engine uses (the URL's query options included). If the
    connection drops after the server stored the row but before the answer came back, the second try finds
    the row and the webhook is answered as a repeat (200, with the stored answer): nothing is lost or doubled.
    """

    COLUMNS = ("event_id", "type", "status_code", "response", "received_at", "state", "payload", "attempts",
               *ORDER_KEYS)
    SQL = (f"INSERT INTO webhook_events ({', '.join(COLUMNS)}) VALUES ({', '.join(f'%({c})s' for c in COLUMNS)}) "
           "ON CONFLICT (event_id) DO NOTHING RETURNING event_id")

    def __init__(self, engine) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        kwargs.pop("context", None)  # SQLAlchemy's type adapters: this connection passes plain values and Json
        self.args, self.kwargs = args, {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **kwargs}
        self.conn: psycopg.Connection | None = None
        self.lock = threading.Lock()

    def insert(self, params: dict) -> bool:
        """Raises psycopg.OperationalError when the second try fails too: the database is unreachable, and the
        webhook's answer is a 503 (`aftercare.core.outage`), never a 202 for an event not stored."""
        with self.lock:
            try:
                return self._execute(params)
            except psycopg.OperationalError:
                self.close()  # the server restarted or the socket died: once more on a fresh connection
                try:
                    return self._execute(params)
                except psycopg.OperationalError as exc:
                    self.close()
                    if database_unreachable(exc):
                        DATABASE.failed(exc)
                    raise

    def _execute(self, params: dict) -> bool:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(*self.args, **self.kwargs, autocommit=True)
        stored = self.conn.execute(self.SQL, params).fetchone() is not None
        DATABASE.reached()
        return stored

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


_DOORS: dict[tuple[int, str], _PgDoor] = {}
_DOORS_LOCK = threading.Lock()


def _door(db: Database) -> _PgDoor:
    key = (os.getpid(), db.url)
    with _DOORS_LOCK:
        if key not in _DOORS:
            _DOORS[key] = _PgDoor(db.engine)
        return _DOORS[key]
