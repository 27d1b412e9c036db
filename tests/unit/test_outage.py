"""The outage classifier (what counts as "the database cannot be reached"), this process's database status (the
gauge and the two log lines) and the workers' backoff, with the drivers' own exception types and no database."""
from __future__ import annotations

import logging
import sqlite3

import psycopg
import psycopg.errors
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, TimeoutError as PoolTimeout

from aftercare.core.outage import DatabaseStatus, database_unreachable, outage_problem, outage_reason
from aftercare.core.retry import OutageBackoff

REFUSED = ('connection failed: connection to server at "10.1.2.3", port 5432 failed: Connection refused\n'
           "\tIs the server running on that host and accepting TCP/IP connections?")


def wrapped(driver_error: Exception, *, invalidated: bool = False) -> DBAPIError:
    """What SQLAlchemy raises around a driver's error."""
    base = sqlite3.Error if isinstance(driver_error, sqlite3.Error) else psycopg.Error
    return DBAPIError.instance("SELECT 1", {}, driver_error, base, connection_invalidated=invalidated)


@pytest.mark.parametrize("error", [
    psycopg.OperationalError(REFUSED),  # no SQLSTATE: the socket failed, the server never answered
    psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),  # 57P01, a restart
    psycopg.errors.CannotConnectNow("the database system is starting up"),  # 57P03
    psycopg.errors.ConnectionFailure("connection failure"),  # class 08
    psycopg.errors.TooManyConnections("sorry, too many clients already"),  # 53300
    sqlite3.OperationalError("unable to open database file"),
    sqlite3.OperationalError("database is locked"),
], ids=lambda e: f"{type(e).__name__}:{str(e)[:30]}")
def test_unreachable_raw_and_as_sqlalchemy_raises_them(error):
    assert database_unreachable(error)
    assert database_unreachable(wrapped(error))


@pytest.mark.parametrize("error", [
    psycopg.errors.DeadlockDetected("deadlock detected"),  # an OperationalError, but the server is there
    psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
    psycopg.errors.UniqueViolation("duplicate key"),
    sqlite3.OperationalError("no such table: replies"),
    ValueError("a bug"),
    None,
], ids=lambda e: type(e).__name__)
def test_refusals_and_bugs_are_not_an_outage(error):
    assert not database_unreachable(error)
    if error is not None and not isinstance(error, ValueError):
        assert not database_unreachable(wrapped(error))


def test_a_connection_sqlalchemy_invalidated_and_a_pool_timeout_are_an_outage():
    assert database_unreachable(wrapped(psycopg.errors.DeadlockDetected("x"), invalidated=True))
    assert database_unreachable(PoolTimeout("QueuePool limit of size 5 overflow 10 reached"))


def test_an_error_raised_while_handling_an_outage_is_one_too():
    try:
        try:
            raise OperationalError("COMMIT", {}, psycopg.OperationalError("server closed the connection"))
        except OperationalError:
            raise RuntimeError("rollback on a dead connection")
    except RuntimeError as exc:
        assert database_unreachable(exc)
    assert not database_unreachable(IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("dup")))


def test_the_reason_names_the_failure_not_the_host():
    assert outage_reason(wrapped(psycopg.OperationalError(REFUSED))) == "Connection refused"
    assert outage_reason(psycopg.errors.CannotConnectNow("the database system is starting up")) == \
        "the database system is starting up"
    assert "10.1.2.3" not in outage_reason(psycopg.OperationalError(REFUSED))


def test_the_problem_is_a_503_with_retry_after():
    problem = outage_problem(7)
    assert problem.status == 503 and problem.headers == {"Retry-After": "7"}
    assert problem.as_dict()["type"].endswith("/database-unavailable") and "7 s" in problem.detail


def db_up() -> float:
    return REGISTRY.get_sample_value("aftercare_db_up")


def test_status_logs_one_line_when_an_outage_starts_and_one_when_it_ends(caplog):
    now = [100.0]
    status = DatabaseStatus(clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="aftercare.database")
    status.reached()
    assert caplog.records == [] and db_up() == 1
    for _ in range(5):
        status.failed(psycopg.OperationalError(REFUSED))
    assert not status.up and db_up() == 0
    now[0] = 120.5
    status.reached()
    status.reached()
    assert status.up and db_up() == 1
    assert [r.getMessage() for r in caplog.records] == [
        "database unreachable: outage started (Connection refused)",
        "database reachable again: outage ended after 20.5 s (Connection refused)"]


def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets_on_success():
    now = [0.0]
    backoff = OutageBackoff(base=1.0, cap=10.0, clock=lambda: now[0], rng=lambda: 1.0)
    assert not backoff.waiting()
    assert [backoff.failed() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.waiting()
    now[0] = 10.0
    assert not backoff.waiting()
    backoff.succeeded()
    assert backoff.failed() == 1.0
    low = OutageBackoff(base=1.0, cap=10.0, clock=lambda: 0.0, rng=lambda: 0.0)
    assert [low.failed() for _ in range(3)] == [0.5, 1.0, 2.0]  # the jitter spreads each wait over its upper half
