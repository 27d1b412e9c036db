"""Known problems (SPEC §12): what a manager or the CRM declared, the cases it took in, and who was told of the fix."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aftercare.core.clock import utcnow
from aftercare.core.db import Base, UTCDateTime

PROBLEM_STATES = ("open", "resolved")


class KnownProblem(Base):
    __tablename__ = "problems"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), index=True)
    journey_stage: Mapped[str | None] = mapped_column(String(64))
    window_from: Mapped[datetime] = mapped_column(UTCDateTime)
    window_to: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: still happening, later cases join
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    source: Mapped[str] = mapped_column(String(32))  # "manager:<name>", "api:<key name>" or "crm:<event id>"
    message: Mapped[str | None] = mapped_column(Text)  # the manager's own words for the fix notice, if any
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))


class ProblemCase(Base):
    """A case the problem took in: how (window, explicit id, or a later case while open) and when."""

    __tablename__ = "problem_cases"

    problem_id: Mapped[str] = mapped_column(ForeignKey("problems.id"), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    how: Mapped[str] = mapped_column(String(16))  # "window" | "explicit" | "later"
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProblemNotice(Base):
    """One per affected customer once the problem is resolved: the fix notice scheduled, or why none was."""

    __tablename__ = "problem_notices"

    problem_id: Mapped[str] = mapped_column(ForeignKey("problems.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(128))  # the case a "still broken" reply reopens
    checkin_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the notice, when one was scheduled
    skip_code: Mapped[str | None] = mapped_column(String(32))  # followup.problem_rules.SKIP_CODES
    skip_reason: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
