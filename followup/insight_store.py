"""The thin loader from tables to followup.insights: every reopen in the window and the one before, masked."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftercare.core.logs import mask_pii
from followup import insights
from followup.models import Case, Reply
from followup.reasons import reason_category

EXAMPLE_CHARS = 200


def load_reopens(session: Session, *, start: datetime, end: datetime) -> list[insights.ReopenRec]:
    """Replies that reopened a case in [start, end); one stored before reason categories existed is placed now."""
    rows = session.execute(select(Reply, Case).join(Case, Case.id == Reply.case_id).where(
        Reply.received_at >= start, Reply.received_at < end, Reply.action.like("reopened%")))
    return [insights.ReopenRec(
        at=reply.received_at, category=case.category, journey_stage=case.journey_stage, team=case.team,
        reason=reply.reason_category or reason_category(intent=reply.intent, reasons=reply.reasons or (),
                                                        text=reply.text) or "unclear",
        root_cause=case.root_cause, text=mask_pii(" ".join(reply.text.split()))[:EXAMPLE_CHARS])
        for reply, case in rows]


def reopen_reasons_report(session: Session, *, start: datetime, end: datetime, root_cause_labels: dict[str, str],
                          team: str | None = None, journey_stage: str | None = None) -> dict:
    records = load_reopens(session, start=start - (end - start), end=end)
    return insights.reopen_reasons(records, start=start, end=end, team=team, journey_stage=journey_stage,
                                   root_cause_labels=root_cause_labels)
