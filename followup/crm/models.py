"""The CRM outbox: one row per notice, written in the reopen's own transaction, so none is ever lost."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aftercare.core.db import Base, UTCDateTime
from aftercare.core.outbox import OutboxColumns

DELIVERY_STATES = ("pending", "delivered", "dead")


class CrmDelivery(OutboxColumns, Base):
    """A notice for the CRM: pending until the adapter takes it, dead (a dead letter) when retries ran out.

    `next_attempt_at` is when it may be tried (backoff); a worker trying it holds it with `claimed_by` until
    `lease_until` (the leased queue).
    """

    __tablename__ = "crm_deliveries"
    __table_args__ = (Index("ix_crm_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    adapter: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
