"""The database every package shares: declarative base, UTC timestamps, the engine and a session per unit of work."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from aftercare.core.outage import watch

CONNECT_TIMEOUT_SECONDS = 5
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def column_length(*columns) -> int:
    """The narrowest of these String columns (model attributes such as `Customer.name`, or plain lengths another
    package gave): what a value stored in all of them may be at most."""
    return min(c if isinstance(c, int) else c.property.columns[0].type.length for c in columns)


def storable_form(form) -> dict[str, str]:
    """A provider's posted fields with NUL removed: PostgreSQL text cannot hold it, and a provider's message must be
    stored, not refused (SendGrid would post it again for days; Twilio never would)."""
    return {key: value.replace("\x00", "") for key, value in form.items()}


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite keeps no zone, and comparisons must not mix the two."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE so that claims are serialised, not failed.

    Bound values (names, phone numbers, addresses, reply text) never appear in an error's text or in the
    echo log (`hide_parameters`); the statement does. PostgreSQL connections are pinged before use (a pool
    that outlived a database restart reconnects instead of failing) and give up connecting after
    CONNECT_TIMEOUT_SECONDS unless the URL says otherwise (`?connect_timeout=`): during an outage a request
    gets its 503 rather than hanging on a host that does not answer.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True, future=True,
                             connect_args=connect_args)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, hide_parameters=True,
                           connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Engine + session factory owned by one app (nothing created at import time); the engine reports to this
    process's database status (`aftercare.core.outage`)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        watch(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work for a job or CLI command: rolled back unless the service committed."""
        session = self.sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
