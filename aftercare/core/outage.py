"""A database outage, recognised in one place: `database_unreachable(error)` says whether an error means the database
cannot be reached right now (as opposed to a bug or a refused statement), for every caller — the web's error handler
(503 with Retry-After), the inbound reply webhooks (the spool), the queued door's own connection, the workers (back
off, then reconnect). `DATABASE` is this process's view of it: the `aftercare_db_up` gauge and one log line when an
outage starts and one when it ends.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Callable

import psycopg
from prometheus_client import Gauge
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, TimeoutError as PoolTimeout

from aftercare.core.logs import error_chain
from aftercare.core.problems import Problem

log = logging.getLogger("aftercare.database")

# PostgreSQL's SQLSTATEs for "no connection to be had": class 08 (connection exception), the server shutting down
# or starting up (57P01-57P03) and no free connection slot (53300). A psycopg error without a SQLSTATE never came
# from the server: the socket failed (refused, reset, closed unexpectedly).
UNREACHABLE_CLASSES = ("08",)
UNREACHABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# SQLite has no server: its file cannot be opened, the disk failed, or another process held the lock past the
# busy timeout (30 s). Each passes; none says anything about the request.
SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error", "database is locked")

DB_UP = Gauge("aftercare_db_up", "1 while this process reaches the database; 0 from a failed attempt until the "
              "next success (under gunicorn: the lowest of the live workers)", multiprocess_mode="livemin")


def _driver_unreachable(error: BaseException) -> bool:
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        return state is None or state[:2] in UNREACHABLE_CLASSES or state in UNREACHABLE_STATES
    if isinstance(error, sqlite3.OperationalError):
        return str(error).lower().startswith(SQLITE_UNREACHABLE)
    return False


def database_unreachable(error: BaseException | None) -> bool:
    """The error (or one it was raised from or while handling) means the database cannot be reached: a connection
    that failed or was lost, a server shutting down or starting up, a pool that timed out waiting for one."""
    for found in error_chain(error):
        if isinstance(found, (PoolTimeout, DisconnectionError)):
            return True
        if isinstance(found, DBAPIError) and (found.connection_invalidated or _driver_unreachable(found.orig)):
            return True
        if _driver_unreachable(found):
            return True
    return False


def outage_reason(error: BaseException | None) -> str:
    """A short, safe why ("Connection refused", "the database system is starting up"): the driver's first line
    without the host and port it names."""
    for found in error_chain(error):
        driver = found.orig if isinstance(found, DBAPIError) else found
        if isinstance(found, (PoolTimeout, DisconnectionError)) or _driver_unreachable(driver):
            first = (str(driver).strip().splitlines() or [type(driver).__name__])[0]
            return first.rsplit("failed: ", 1)[-1].strip()[:200] or type(driver).__name__
    return type(error).__name__ if error is not None else "unknown"


def outage_problem(retry_after: int, detail: str = "The database cannot be reached; nothing was stored.") -> Problem:
    """The 503 a caller gets while the database is away: problem+json with Retry-After, so a retrying sender waits."""
    return Problem(503, "Service Unavailable", f"{detail} Retry after {retry_after} s.", kind="database-unavailable",
                   headers={"Retry-After": str(retry_after)})


class DatabaseStatus:
    """This process's last word on the database: up until an attempt fails, down until one succeeds. Only the
    changes are logged (one line each), so an outage of any length costs two lines per process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.down_since: float | None = None
        self.reason = ""
        self._lock = threading.Lock()
        DB_UP.set(1)

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, error: BaseException | None) -> None:
        if self.down_since is not None:
            return
        with self._lock:
            if self.down_since is None:
                self.down_since, self.reason = self.clock(), outage_reason(error)
                DB_UP.set(0)
                log.error("database unreachable: outage started (%s)", self.reason)

    def reached(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is not None:
                lasted = self.clock() - self.down_since
                self.down_since = None
                DB_UP.set(1)
                log.warning("database reachable again: outage ended after %.1f s (%s)", lasted, self.reason)


DATABASE = DatabaseStatus()


def watch(engine: Engine, status: DatabaseStatus = DATABASE) -> None:
    """Feed `status` from the engine: an unreachable error marks it down; a new connection or a statement that
    went through marks it up (an attribute read while it is up).

    A failed pre-ping is not an outage by itself (a stale pooled connection, replaced at once); if the replacement
    cannot connect either, that connect error is reported on its own.
    """

    @event.listens_for(engine, "handle_error")
    def _failed(context) -> None:
        if not context.is_pre_ping and database_unreachable(context.sqlalchemy_exception or context.original_exception):
            status.failed(context.original_exception)

    @event.listens_for(engine.pool, "connect")
    def _connected(_dbapi_connection, _record) -> None:
        status.reached()

    @event.listens_for(engine, "after_cursor_execute")
    def _executed(*_args) -> None:
        status.reached()
