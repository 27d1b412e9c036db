"""Drive the dispatcher by hand in integration tests: make check-ins due, run one batch, read a check-in back."""
from __future__ import annotations

from followup.dispatch import DispatchConfig, dispatch_due
from followup.models import CheckIn


def due_now(rt, clock, *ids: str) -> None:
    with rt.db.session() as session:
        for checkin_id in ids:
            session.get(CheckIn, checkin_id).due_at = clock.now
        session.commit()


def dispatch(rt, clock, **config):
    """One batch at the test clock's time, as worker "w1" (short backoff unless the test says otherwise)."""
    return dispatch_due(rt.db, rt.services["channels"], now=clock.now, worker="w1",
                        config=DispatchConfig(**{"backoff_base_seconds": 10, **config}))


def stored_checkin(rt, checkin_id: str) -> CheckIn:
    with rt.db.session() as session:
        row = session.get(CheckIn, checkin_id)
        session.expunge(row)
        return row
