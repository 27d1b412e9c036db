"""One use case, one transaction: a use case is given a unit of work, does its reads and writes through
`uow.session`, and commits it itself (cosmicpython's pattern). Views and jobs only make the unit of work.

The session is SQLAlchemy's: our queries are the repository, so a unit of work needs no second copy of them.
Tests of the service tier use FakeUnitOfWork (tests/support/unit_of_work.py), the same shape over a throwaway SQLite file that
also counts commits.
"""
from __future__ import annotations

from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


class UnitOfWork(Protocol):
    session: Session

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class SessionUnitOfWork:
    """A unit of work over a session its caller opened and will close (a request's, a job's)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


def commit_once(uow: UnitOfWork) -> bool:
    """Commit, or roll back when a unique key says this was already stored (a provider's retry racing its first
    delivery). False when it was a repeat."""
    try:
        uow.commit()
        return True
    except IntegrityError:
        uow.rollback()
        return False
