"""The leased queue: every table of work (check-ins to send, CRM events to act on, CRM and routing notices to
deliver, commitments to remind, breaks to end or decide again) is worked the same way.

1. **Claim** a batch of ready rows in one short transaction: `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL
   (workers on several machines claim side by side), the same statement serialised by `BEGIN IMMEDIATE` on
   SQLite. Each claimed row gets an owner token unique to this claim and a lease end; the attempt is counted
   here, so a row that kills its worker still runs out of attempts.
2. **Act** on each row outside that transaction, and stop before the lease runs out (`Lease.running_out`):
   after that another worker may take the row over.
3. **Record** the outcome only while still the owner (`held`, or `owned` in a bulk statement). A worker whose
   lease expired and was claimed again finds nothing to record: its late outcome cannot overwrite the new
   owner's. Finishing clears the owner (`finished`).
4. **Release** what was claimed but not started (graceful stop, lease running out): the attempt is given back.

Why a token per claim and not the worker's name: the same worker can claim a row again after its own lease
ran out, and then its first, stale pass must not count as the owner either.
"""
from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import ColumnElement, String, and_, any_, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, Session, mapped_column

from aftercare.core.db import UTCDateTime

STOP_AT_FRACTION = 0.75


class LeaseColumns:
    """The two columns that make a table a leased queue (mixed into its model)."""

    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


def worker_name() -> str:
    """This process, as other workers and the logs see it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class LeasedQueue:
    """How one table is worked as a queue.

    `ready(now)` gives the scans, each a WHERE clause, tried in order until the batch is full (the dispatcher
    takes expired leases first, then due rows: two index range scans rather than one `OR` that sorts every
    due row); `order_by` orders each scan. `on_claim`/`on_release` are extra column values (the dispatcher
    moves a check-in to and from the `claimed` state).
    """

    model: type
    ready: Callable[[datetime], Sequence[Any]]
    order_by: Sequence[Any]
    attempts: Any = None
    on_claim: Mapping[str, Any] = field(default_factory=dict)
    on_release: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self):
        return self.model.__mapper__.primary_key[0]

    @property
    def table(self):
        return self.model.__table__

    def claim(self, session: Session, *, worker: str, now: datetime, limit: int, lease_seconds: float,
              returning: Sequence[Any] = (), filters: Sequence[Any] = ()) -> "Lease":
        """Lease up to `limit` ready rows to a new owner token and commit. `filters` narrow every scan (one
        adapter's rows); `returning` are columns handed back with the claim (no second read of the batch)."""
        ids: list = []
        for scan in self.ready(now):
            if len(ids) >= limit:
                break
            stmt = select(self.id).where(scan, *filters).order_by(*self.order_by).limit(limit - len(ids))
            ids += session.scalars(stmt.with_for_update(skip_locked=True)).all()
        lease = Lease(owner=f"{worker}#{secrets.token_hex(6)}", claimed_at=now,
                      expires_at=now + timedelta(seconds=lease_seconds), ids=list(dict.fromkeys(ids)))
        if lease.ids:
            values = {"claimed_by": lease.owner, "lease_until": lease.expires_at, **self.on_claim}
            if self.attempts is not None:
                values[self.attempts.key] = self.attempts + 1
            stmt = update(self.model).where(among(session, self.id, lease.ids)).values(**values)
            if returning:
                order = {row_id: n for n, row_id in enumerate(lease.ids)}
                rows = session.execute(stmt.returning(*returning).execution_options(synchronize_session=False)).all()
                lease.rows.extend(sorted(rows, key=lambda row: order[row[0]]))
            else:
                session.execute(stmt.execution_options(synchronize_session=False))
        session.commit()
        return lease

    def owned(self, lease: "Lease") -> ColumnElement[bool]:
        """For a bulk UPDATE that records outcomes: only rows this claim still holds."""
        return self.model.claimed_by == lease.owner

    def held(self, session: Session, lease: "Lease", row_id: Any, *, lock: bool = True):
        """The row, if this claim still holds it; locked, so a worker taking over an expired lease waits for
        us and then finds the row finished."""
        stmt = select(self.model).where(self.id == row_id, self.owned(lease))
        if lock and not is_sqlite(session):
            stmt = stmt.with_for_update()
        return session.scalars(stmt).first()

    def release(self, session: Session, lease: "Lease", row_ids: Iterable[Any] | None = None, *,
                where: Sequence[Any] = ()) -> int:
        """Hand back claimed rows not started (all of this claim's by default, narrowed by `where`): the attempt
        did not happen."""
        wanted = lease.ids if row_ids is None else list(row_ids)
        if not wanted:
            return 0
        return self._release(session, and_(among(session, self.id, wanted), self.owned(lease), *where))

    def release_worker(self, session: Session, worker: str, *extra: Any) -> int:
        """On a graceful stop: hand back every claim of this process that `extra` says was not started."""
        prefix = worker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return self._release(session, and_(self.model.claimed_by.like(f"{prefix}#%", escape="\\"), *extra))

    def _release(self, session: Session, where: Any) -> int:
        values: dict[str, Any] = {"claimed_by": None, "lease_until": None, **self.on_release}
        if self.attempts is not None:
            values[self.attempts.key] = self.attempts - 1
        return session.execute(update(self.model).where(where).values(**values)
                               .execution_options(synchronize_session=False)).rowcount


def finished(row: Any) -> None:
    """Clear the lease of a row whose outcome is being recorded."""
    row.claimed_by = row.lease_until = None


def lease_free(model: type, now: datetime) -> ColumnElement[bool]:
    """Nobody holds the row: never leased, or the lease ran out."""
    return or_(model.lease_until.is_(None), model.lease_until < now)


@dataclass
class Lease:
    """One claim: its owner token, when it ends, the ids (and any returned rows) it holds."""

    owner: str
    claimed_at: datetime
    expires_at: datetime
    ids: list = field(default_factory=list)
    rows: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ids)

    def running_out(self, now: datetime, fraction: float = STOP_AT_FRACTION) -> bool:
        """Stop acting once this share of the lease is spent: the rest of the batch goes back rather than risk
        acting on a row another worker is about to take over."""
        return now >= self.claimed_at + (self.expires_at - self.claimed_at) * fraction


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def among(session: Session, column, values) -> ColumnElement[bool]:
    """`column IN values`; one array parameter on PostgreSQL: a short statement psycopg prepares once, instead
    of a statement per list length with a placeholder per id."""
    values = list(values)
    if is_sqlite(session):
        return column.in_(values)
    return column == any_(literal(values, ARRAY(column.type)))
