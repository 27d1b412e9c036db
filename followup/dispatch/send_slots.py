"""Per-sender rate limits shared by every worker: the `sender_slots` row holds a sender's next free moment."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from aftercare.core.db import Database
from followup.models import SenderSlot


def reserve_send_slot(db: Database, sender: str, per_second: float, now: datetime) -> datetime:
    """The moment this sender may next send; a row lock makes every worker on every machine see one budget."""
    interval = timedelta(seconds=1.0 / per_second)
    for _ in range(3):
        with db.session() as session:
            slot = session.get(SenderSlot, sender, with_for_update=True)
            if slot is None:
                slot = SenderSlot(sender=sender, next_free_at=now)
                session.add(slot)
            start = max(slot.next_free_at, now)
            slot.next_free_at = start + interval
            try:
                session.commit()
                return start
            except IntegrityError:
                session.rollback()
    raise RuntimeError(f"could not reserve a send slot for {sender}")
