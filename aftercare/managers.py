"""Managers who sign in to the dashboard: hashed passwords, and sign-in throttled per username and address."""
from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from aftercare.core.clock import utcnow
from aftercare.core.db import Base, UTCDateTime
from aftercare.core.ids import new_id

USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,150}$")
MIN_PASSWORD_LENGTH = 10


class Manager(Base):
    """A workforce manager; only a salted scrypt hash of the password is stored."""

    __tablename__ = "managers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Carried in the session cookie; replacing it signs the manager out of every browser.
    session_nonce: Mapped[str | None] = mapped_column(String(64))


class SignInFailure(Base):
    """One failed sign-in; kept in the database so every web process sees the same count."""

    __tablename__ = "manager_sign_in_failures"
    __table_args__ = (Index("ix_manager_sign_in_failures_key", "username", "ip", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


class SignInError(Exception):
    """Wrong username or password (deliberately not saying which)."""


class SignInThrottled(SignInError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many failed sign-ins; try again in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def create_manager(*, session: Session, username: str, password: str, now: datetime | None = None) -> Manager:
    """Store a new manager with a hashed password; ValueError names what is wrong."""
    name = normalise_username(username)
    if not USERNAME.match(name):
        raise ValueError("username: 1-150 letters, digits or . _ @ -")
    _check_password_rules(password)
    if session.scalar(select(Manager.id).where(Manager.username == name)) is not None:
        raise ValueError(f"username: {name!r} already exists")
    manager = Manager(id=new_id("mgr"), username=name, password_hash=generate_password_hash(password),
                      created_at=now or utcnow())
    session.add(manager)
    session.commit()
    return manager


def reset_password(*, session: Session, username: str, password: str) -> Manager:
    """Give a manager a new password (same rules as a new one), sign them out of every browser and lift a
    lockout on their name; ValueError names what is wrong."""
    _check_password_rules(password)
    name = normalise_username(username)
    manager = session.scalar(select(Manager).where(Manager.username == name))
    if manager is None:
        raise ValueError(f"username: no manager {name!r}")
    manager.password_hash = generate_password_hash(password)
    manager.session_nonce = secrets.token_urlsafe(24)
    session.execute(delete(SignInFailure).where(SignInFailure.username == name))
    session.commit()
    return manager


def _check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash("not a real password")


def sign_in(*, session: Session, username: str, password: str, ip: str, now: datetime,
            policy: ThrottlePolicy = ThrottlePolicy()) -> Manager:
    """Check a password; the 6th attempt within 15 minutes after 5 failures for one username and address is
    throttled, however many arrive at once.

    Each attempt first records itself as a failure and commits, then counts: the k-th attempt to commit sees at
    least k rows, so at most `max_failures` attempts ever reach the password check, with no lock and on any
    database (counting first and recording after let parallel attempts all see the same count). A throttled
    attempt takes its row back, so a crowd refused together leaves no failures; a right password clears them
    all. Commits: a failure must stay recorded even though the caller's request then fails.
    """
    name, ip = normalise_username(username)[:150], (ip or "unknown")[:64]
    attempt = SignInFailure(username=name, ip=ip, at=now)
    session.add(attempt)
    session.commit()
    recent = select(func.count(), func.min(SignInFailure.at)).where(
        SignInFailure.username == name, SignInFailure.ip == ip, SignInFailure.at > now - policy.window)
    count, oldest = session.execute(recent).one()
    if count > policy.max_failures:
        session.execute(delete(SignInFailure).where(SignInFailure.id == attempt.id))
        session.commit()
        raise SignInThrottled(max(1, int((oldest + policy.window - now).total_seconds()) + 1))
    manager = session.scalar(select(Manager).where(Manager.username == name))
    if not check_password_hash(manager.password_hash if manager else _dummy_hash(), password or ""):
        raise SignInError("Wrong username or password.")
    session.execute(delete(SignInFailure).where(SignInFailure.username == name, SignInFailure.ip == ip))
    manager.last_sign_in_at = now
    manager.session_nonce = manager.session_nonce or secrets.token_urlsafe(24)
    session.commit()
    return manager


def sign_out_everywhere(*, session: Session, manager_id: str) -> None:
    """Cookie sessions cannot be deleted on the server, so make every issued one stop matching."""
    manager = session.get(Manager, manager_id)
    if manager is not None:
        manager.session_nonce = secrets.token_urlsafe(24)
        session.commit()


def current_manager(session: Session, manager_id: str | None, nonce: str | None) -> Manager | None:
    if not manager_id or not nonce:
        return None
    manager = session.get(Manager, manager_id)
    if manager is None or not manager.session_nonce or not secrets.compare_digest(manager.session_nonce, nonce):
        return None
    return manager
