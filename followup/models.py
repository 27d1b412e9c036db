"""Follow-up tables: customers, cases, interactions, check-ins, replies, opt-outs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aftercare.core.clock import utcnow
from aftercare.core.db import Base, UTCDateTime
from aftercare.core.leased_queue import LeaseColumns

CHECKIN_STATES = ("scheduled", "claimed", "sent", "delivered", "replied", "failed", "cancelled", "expired")
OPEN_CHECKIN_STATES = ("scheduled", "claimed", "sent", "delivered")
CASE_STATES = ("open", "closed", "reopened")


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    consent_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_email: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_whatsapp: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="closed")
    agent_id: Mapped[str | None] = mapped_column(String(128))
    agent_name: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(128))
    journey_stage: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    desk: Mapped[str | None] = mapped_column(String(32))  # the help desk a native connector took it from
    desk_ref: Mapped[str | None] = mapped_column(String(128))  # that desk's ticket / conversation id
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    reopen_category: Mapped[str | None] = mapped_column(String(32))  # followup.reasons: why the customer came back
    root_cause: Mapped[str | None] = mapped_column(String(200))  # the agent's, on close: a configured code or free text
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    loop_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(128), index=True)
    agent_name: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    journey_stage: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalated_from_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution: Mapped[str] = mapped_column(String(16), default="unknown")
    customer_sentiment: Mapped[float | None] = mapped_column(Float)
    signals: Mapped[list] = mapped_column(JSON, default=list)
    repeat_contact_count: Mapped[int] = mapped_column(Integer, default=0)
    refund_or_credit_decision: Mapped[bool] = mapped_column(Boolean, default=False)
    irreversible_action: Mapped[bool] = mapped_column(Boolean, default=False)
    commitment_text: Mapped[str | None] = mapped_column(Text)
    commitment_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    triage_decision: Mapped[str] = mapped_column(String(32))
    triage_scores: Mapped[dict] = mapped_column(JSON, default=dict)
    triage_reasons: Mapped[list] = mapped_column(JSON, default=list)
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    held_out: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule_reasons: Mapped[list] = mapped_column(JSON, default=list)
    contact_notes: Mapped[list | None] = mapped_column(JSON)  # how a connector reached the customer (fallbacks)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckIn(LeaseColumns, Base):
    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_due", "state", "due_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    interaction_id: Mapped[str | None] = mapped_column(ForeignKey("interactions.id"), unique=True)  # None: fix notice
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="checkin", server_default="checkin")  # or "fix_notice"
    problem_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the known problem a fix notice is about
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(320), index=True)
    locale: Mapped[str | None] = mapped_column(String(35))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_token: Mapped[str] = mapped_column(String(64), unique=True)
    # What the text was written from (names, issue, when): a WhatsApp template is sent as these variables.
    template_fields: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # The provider refused free text (WhatsApp 63016: outside the 24-hour window): only the template may go.
    needs_template: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Reply(Base):
    __tablename__ = "replies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    checkin_id: Mapped[str | None] = mapped_column(ForeignKey("checkins.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    from_address: Mapped[str | None] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    action: Mapped[str | None] = mapped_column(Text)
    reason_category: Mapped[str | None] = mapped_column(String(32))  # set when the reply reopened the case
    provider_message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OptOut(Base):
    """Opt-out belongs to the address, whichever customer record carries it."""

    __tablename__ = "opt_outs"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200))
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelContact(Base):
    """An address that wrote to us on a conversational channel (WhatsApp): when it last did, which opens the
    provider's customer-service window, and the name its profile shows."""

    __tablename__ = "channel_contacts"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    profile_name: Mapped[str | None] = mapped_column(String(200))
    provider_user_id: Mapped[str | None] = mapped_column(String(64))
    last_inbound_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SenderSlot(Base):
    """Per-sender rate limit shared by every worker: the next moment this sender may send."""

    __tablename__ = "sender_slots"

    sender: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_free_at: Mapped[datetime] = mapped_column(UTCDateTime)
