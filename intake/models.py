"""Received CRM and help-desk events: the idempotency record of every event and, when queued, the intake journal
the workers act on."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from aftercare.core.clock import utcnow
from aftercare.core.db import Base, UTCDateTime
from aftercare.core.leased_queue import LeaseColumns

ORDER_KEYS = ("case_key", "customer_key", "agent_key")  # what a queued event waits behind (intake.service.order_keys)


class WebhookEvent(LeaseColumns, Base):
    """A CRM event received: a repeat of its event_id returns the stored answer and changes nothing.

    `state` is "processed" when the event has been acted on (inline, or by a worker), "queued" while it waits
    for the workers (`crm.intake_mode = "queued"`, with its validated `payload`; events sharing a case,
    customer or agent key are acted on in arrival order; a worker acting on it holds it with `claimed_by`
    until `lease_until`), and "failed" when acting on it was refused (`response` then holds the problem
    details, `status_code` its status).
    """

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_queued", "received_at", "event_id",
                            postgresql_where=text("state = 'queued'"), sqlite_where=text("state = 'queued'")),
                      *(Index(f"ix_webhook_events_queued_{key}", key, "received_at", "event_id",
                              postgresql_where=text("state = 'queued'"), sqlite_where=text("state = 'queued'"))
                        for key in ORDER_KEYS))

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="processed", server_default="processed")
    payload: Mapped[dict | None] = mapped_column(JSON)
    case_key: Mapped[str | None] = mapped_column(String(128))
    customer_key: Mapped[str | None] = mapped_column(String(128))
    agent_key: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
