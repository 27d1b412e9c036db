"""Wellbeing tables: the builtin routing queue and agents' recorded state."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aftercare.db import Base, UTCDateTime, utcnow

QUEUE_KINDS = ("case", "human_task", "break", "commitment_reminder", "escalation")
QUEUE_STATES = ("queued", "assigned", "done", "cancelled")


class QueueItem(Base):
    """One thing a person must do: a reopened case, a human task, a break (agent-targeted)."""

    __tablename__ = "queue_items"
    __table_args__ = (Index("ix_queue_items_pick", "state", "priority", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    priority: Mapped[int] = mapped_column(Integer, default=50)
    case_id: Mapped[str | None] = mapped_column(String(128), index=True)
    team: Mapped[str | None] = mapped_column(String(128), index=True)
    preferred_agent_id: Mapped[str | None] = mapped_column(String(128), index=True)
    assigned_agent_id: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(300))
    routing_reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Agent(Base):
    """An agent's last known state and emotional load (value, as-of, state: enough for an O(1) update)."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(128), index=True)
    state: Mapped[str] = mapped_column(String(16), default="available")
    load_value: Mapped[float] = mapped_column(Float, default=0.0)
    load_as_of: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    load_threshold: Mapped[float] = mapped_column(Float, default=2.5)
    consecutive_negative: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LoadEvent(Base):
    """Each change to an agent's load, so the API can show a 24 h series and its parts."""

    __tablename__ = "load_events"
    __table_args__ = (Index("ix_load_events_agent_at", "agent_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    parts: Mapped[dict] = mapped_column(JSON, default=dict)
    interaction_id: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
