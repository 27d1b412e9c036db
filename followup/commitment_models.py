"""Agents' commitments to customers ("I will update you by 3 pm"), tracked until kept or escalated."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aftercare.core.clock import utcnow
from aftercare.core.db import Base, UTCDateTime
from aftercare.core.leased_queue import LeaseColumns

COMMITMENT_STATES = ("pending", "reminded", "kept", "escalated")
OPEN_COMMITMENT_STATES = ("pending", "reminded")


class Commitment(LeaseColumns, Base):
    """pending → reminded (before due) → kept (a case.updated by due_at) or escalated (none by due_at)."""

    __tablename__ = "commitments"
    __table_args__ = (Index("ix_commitments_state_remind_at", "state", "remind_at"),
                      Index("ix_commitments_state_due_at", "state", "due_at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id"), unique=True)
    agent_id: Mapped[str | None] = mapped_column(String(128))
    agent_name: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    state_reason: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder_item_id: Mapped[str | None] = mapped_column(String(64))
    kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_item_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
