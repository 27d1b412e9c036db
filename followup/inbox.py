"""What the follow-up inbox shows a manager: reopened cases with the customer's last word, and replies that matched
no check-in (or may not act on one), for a person to read."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from followup.models import Case, Reply


def case_teams(session: Session) -> list[str]:
    """Every team a case has been handled by, for the dashboard's team picker."""
    return sorted(set(session.scalars(select(Case.team).where(Case.team.is_not(None)).distinct())))


def reopened_cases(session: Session, *, limit: int = 100) -> list[dict]:
    """Newest first: the case, its last reply and where its queue item went."""
    rows = []
    for case in session.scalars(select(Case).where(Case.state == "reopened")
                                .order_by(Case.reopened_at.desc()).limit(limit)):
        last = session.scalars(select(Reply).where(Reply.case_id == case.id)
                               .order_by(Reply.received_at.desc()).limit(1)).first()
        items = wellbeing.queue_items(session, state=None, case_id=case.id)
        rows.append({"case": case, "reply": last, "item": items[0] if items else None})
    return rows


def unmatched_replies(session: Session, *, limit: int = 100) -> list[Reply]:
    return list(session.scalars(select(Reply).where(Reply.checkin_id.is_(None), Reply.case_id.is_(None))
                                .order_by(Reply.received_at.desc()).limit(limit)))
