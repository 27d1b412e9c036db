"""Wellbeing tables: agents' state and load, break rule versions, breaks and their decisions, the routing queue."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aftercare.core.clock import utcnow
from aftercare.core.db import Base, UTCDateTime, column_length
from aftercare.core.leased_queue import LeaseColumns
from aftercare.core.outbox import OutboxColumns

QUEUE_KINDS = ("case", "human_task", "break", "commitment_reminder", "escalation")
QUEUE_STATES = ("queued", "assigned", "done", "cancelled")
AGENT_STATES = ("available", "busy", "wrap_up", "on_break", "offline")
BREAK_STATES = ("deferred", "due", "on_break", "ended", "refused", "cancelled")
OPEN_BREAK_STATES = ("deferred", "due", "on_break")
COMMAND_STATES = ("pending", "done", "dead")


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
    external_id: Mapped[str | None] = mapped_column(String(64))
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
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    load_value: Mapped[float] = mapped_column(Float, default=0.0)
    load_as_of: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    load_threshold: Mapped[float] = mapped_column(Float, default=2.5)
    consecutive_negative: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LoadEvent(Base):
    """Each change to an agent's load: an interaction (its weight, parts and the facts the rules read, so a
    simulation can replay it) or a switch between working and resting (so the 24 h series decays right)."""

    __tablename__ = "load_events"
    __table_args__ = (Index("ix_load_events_agent_at", "agent_id", "at"),
                      Index("ix_load_events_team_at", "team", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    parts: Mapped[dict] = mapped_column(JSON, default=dict)
    facts: Mapped[dict | None] = mapped_column(JSON)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    interaction_id: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


class BreakRuleSetVersion(Base):
    """One published version of a team's rule set (`scope` "" is the default set); never updated or deleted."""

    __tablename__ = "break_rule_sets"
    __table_args__ = (UniqueConstraint("scope", "version", name="uq_break_rule_sets_scope_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Break(LeaseColumns, Base):
    """A break the rules asked for, from request to end: deferred → due → on_break → ended (or refused).

    `ready_at` is when it may start: at once for start "now", for "after_current" when the agent next reports
    that they finished their interaction (available or wrap_up).
    """

    __tablename__ = "breaks"
    __table_args__ = (Index("ix_breaks_state_retry_at", "state", "retry_at"),
                      Index("ix_breaks_state_ends_at", "state", "ends_at"),
                      Index("ix_breaks_agent_state", "agent_id", "state"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128), index=True)
    rule: Mapped[str] = mapped_column(String(100))
    rule_set_version: Mapped[int | None] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    start: Mapped[str] = mapped_column(String(16))
    request_reasons: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    was_deferred: Mapped[bool] = mapped_column(Boolean, default=False)
    queue_item_id: Mapped[str | None] = mapped_column(String(64))
    escalation_item_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BreakDecisionRecord(Base):
    """Each planner verdict on a break with its reasons: granted, deferred, escalated or refused."""

    __tablename__ = "break_decisions"
    __table_args__ = (Index("ix_break_decisions_agent_at", "agent_id", "decided_at"),
                      Index("ix_break_decisions_team_at", "team", "decided_at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    break_id: Mapped[str] = mapped_column(ForeignKey("breaks.id"), index=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(100))
    rule_set_version: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    minutes: Mapped[int] = mapped_column(Integer)
    start: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_to: Mapped[str | None] = mapped_column(String(100))
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    guard: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict | None] = mapped_column(JSON)


class AgentReport(Base):
    """An agent said an interaction rattled them (`POST /agents/<id>/rattled`): load added, the rules run, and
    a prompt on the team load page until a manager marks it seen."""

    __tablename__ = "agent_reports"
    __table_args__ = (Index("ix_agent_reports_team_seen", "team", "seen_at"),
                      Index("ix_agent_reports_agent_at", "agent_id", "at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    interaction_id: Mapped[str | None] = mapped_column(String(128))
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    load_after: Mapped[float] = mapped_column(Float, default=0.0)
    reported_by: Mapped[str] = mapped_column(String(200))
    break_id: Mapped[str | None] = mapped_column(String(64))
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_by: Mapped[str | None] = mapped_column(String(200))


class RoutingCommand(OutboxColumns, Base):
    """What the routing platform must be told (create a task, set an activity), delivered by the tick."""

    __tablename__ = "routing_commands"
    __table_args__ = (Index("ix_routing_commands_due", "state", "next_attempt_at"),
                      Index("ix_routing_commands_key", "key", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    adapter: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)


# How long each CRM event field wellbeing stores may be (intake validates events against these).
STORED_LENGTHS: dict[str, int] = {"agent.id": column_length(Agent.id), "agent.name": column_length(Agent.name),
                                  "agent.team": column_length(Agent.team)}
