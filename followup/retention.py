"""Data retention: a closed case past `retention.days` keeps its ids, states, timestamps and scores (so outcome
metrics still add up) but loses what people wrote and how to reach the customer.

Purged, per eligible case: check-in body, subject, address and template fields; reply text and sender address; the reply quoted in
the case's reopen reason, in its routing queue items and in CRM notices already delivered or dead; the agent's
commitment text; and the customer's name, phone and email once every case of theirs is eligible. Also the raw
payload of CRM events a worker failed on (queued intake, purged by `intake.queue`), once received before the
cutoff; and what a WhatsApp address's last message told us (profile name, WhatsApp id) once it last wrote before the
cutoff. Kept on purpose: opt-outs (an address that said STOP must stay suppressed, whatever its age). The routing
queue's copies are wellbeing's to redact (`wellbeing.services.redact_case_items`).

A case is eligible when it is closed, was closed (and its loop closed, if it was) before the cutoff, and has no
check-in still scheduled or claimed. Each batch of cases is one transaction; a second run finds nothing to do.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, not_, or_, select, update
from sqlalchemy.orm import Session

import wellbeing.services as wellbeing
from aftercare.core.db import Database
from followup.commitment_models import Commitment
from followup.crm.models import CrmDelivery
from followup.models import Case, ChannelContact, CheckIn, Customer, Interaction, Reply

log = logging.getLogger("aftercare.retention")
REDACTED = "[redacted]"
BATCH = 500


@dataclass
class CasePurgeReport:
    """How many rows had (or, in a dry run, have) something purged, per table."""

    cutoff: datetime
    dry_run: bool
    cases: int = 0
    checkins: int = 0
    replies: int = 0
    customers: int = 0
    interactions: int = 0
    commitments: int = 0
    crm_deliveries: int = 0
    queue_items: int = 0
    channel_contacts: int = 0

    def as_dict(self) -> dict:
        return {**asdict(self), "cutoff": self.cutoff.isoformat()}

    @property
    def rows(self) -> int:
        """Rows changed (or to change) in all tables; 0 means there was nothing left to purge."""
        return sum(v for k, v in asdict(self).items() if k != "cases" and type(v) is int)


def cutoff_for(now: datetime, days: int) -> datetime:
    if days < 1:
        raise ValueError("retention days must be at least 1")
    return now - timedelta(days=days)


def eligible(cutoff: datetime):
    """SQL condition on Case: closed before the cutoff with nothing still on its way to the customer."""
    return and_(Case.state == "closed", Case.closed_at.is_not(None), Case.closed_at < cutoff,
                or_(Case.loop_closed_at.is_(None), Case.loop_closed_at < cutoff),
                not_(exists().where(CheckIn.case_id == Case.id, CheckIn.state.in_(("scheduled", "claimed")))))


def purge_closed_cases(db: Database, *, now: datetime, days: int, dry_run: bool = False, batch_size: int = BATCH,
                       report: CasePurgeReport | None = None) -> CasePurgeReport:
    """Purge every eligible case, `batch_size` cases per transaction (a dry run only counts); counts go into
    `report` when the caller brings one that other owners add to."""
    report = report or CasePurgeReport(cutoff=cutoff_for(now, days), dry_run=dry_run)
    after = ""
    while True:
        with db.session() as session:
            ids = list(session.scalars(select(Case.id).where(eligible(report.cutoff), Case.id > after)
                                       .order_by(Case.id).limit(batch_size)))
            if not ids:
                report.channel_contacts += _purge_channel_contacts(session, cutoff=report.cutoff, dry_run=dry_run)
                return report
            after = ids[-1]
            purge_cases(session, case_ids=ids, cutoff=report.cutoff, report=report, dry_run=dry_run)
            if not dry_run:
                session.commit()


def purge_cases(session: Session, *, case_ids: list[str], cutoff: datetime, report: CasePurgeReport,
                dry_run: bool) -> None:
    """One batch, in the caller's transaction."""
    touched: set[str] = set()
    names = _customer_names(session, case_ids)

    def apply(model, where, values: dict, counter: str | None, case_column) -> None:
        touched.update(session.scalars(select(case_column).where(where)))
        if dry_run:
            n = session.scalar(select(func.count()).select_from(model).where(where))
        else:
            n = session.execute(update(model).where(where).values(**values)
                                .execution_options(synchronize_session=False)).rowcount
        if counter:
            setattr(report, counter, getattr(report, counter) + (n or 0))

    apply(CheckIn, and_(CheckIn.case_id.in_(case_ids), or_(CheckIn.body != REDACTED, CheckIn.address != REDACTED,
                                                           CheckIn.subject.is_not(None))),
          {"body": REDACTED, "address": REDACTED, "subject": None, "template_fields": None}, "checkins",
          CheckIn.case_id)
    apply(Reply, and_(Reply.case_id.in_(case_ids), or_(Reply.text != REDACTED, Reply.from_address.is_not(None))),
          {"text": REDACTED, "from_address": None}, "replies", Reply.case_id)
    apply(Interaction, and_(Interaction.case_id.in_(case_ids), Interaction.commitment_text.is_not(None),
                            Interaction.commitment_text != REDACTED),
          {"commitment_text": REDACTED}, "interactions", Interaction.case_id)
    apply(Commitment, and_(Commitment.case_id.in_(case_ids), Commitment.text != REDACTED),
          {"text": REDACTED}, "commitments", Commitment.case_id)
    apply(Case, and_(Case.id.in_(case_ids), Case.reopen_reason.is_not(None), Case.reopen_reason != REDACTED),
          {"reopen_reason": REDACTED}, None, Case.id)
    for row in session.scalars(select(CrmDelivery).where(CrmDelivery.case_id.in_(case_ids),
                                                         CrmDelivery.state != "pending")):
        reply = (row.payload or {}).get("reply")
        if isinstance(reply, dict) and reply.get("text") not in (None, REDACTED):
            report.crm_deliveries += 1
            touched.add(row.case_id)
            if not dry_run:
                row.payload = {**row.payload, "reply": {**reply, "text": REDACTED}}
    redacted = wellbeing.redact_case_items(session, case_ids=case_ids, names=names, redacted=REDACTED,
                                           dry_run=dry_run)
    report.queue_items += len(redacted)
    touched.update(case_id for _, case_id in redacted)
    _purge_customers(session, case_ids=case_ids, cutoff=cutoff, report=report, dry_run=dry_run, touched=touched)
    report.cases += len(touched)
    if not dry_run:
        session.flush()


def _purge_channel_contacts(session: Session, *, cutoff: datetime, dry_run: bool) -> int:
    """Addresses that last wrote before the cutoff: their window closed long ago, and their profile is forgotten."""
    stale = ChannelContact.last_inbound_at < cutoff
    if dry_run:
        return session.scalar(select(func.count()).select_from(ChannelContact).where(stale)) or 0
    deleted = session.execute(delete(ChannelContact).where(stale)).rowcount or 0
    session.commit()
    return deleted


def _customer_names(session: Session, case_ids: list[str]) -> dict[str, str]:
    rows = session.execute(select(Case.id, Customer.name).join(Customer, Customer.id == Case.customer_id)
                           .where(Case.id.in_(case_ids), Customer.name.is_not(None)))
    return {case_id: name for case_id, name in rows if name and name != REDACTED}


def _purge_customers(session: Session, *, case_ids: list[str], cutoff: datetime, report: CasePurgeReport,
                     dry_run: bool, touched: set[str]) -> None:
    """Contact details go only when no case of the customer's is still live (or too recent)."""
    live = exists().where(Case.customer_id == Customer.id, not_(eligible(cutoff)))
    mine = select(Case.customer_id).where(Case.id.in_(case_ids))
    where = and_(Customer.id.in_(mine), not_(live),
                 or_(Customer.name.is_not(None), Customer.phone.is_not(None), Customer.email.is_not(None)))
    ids = list(session.scalars(select(Customer.id).where(where)))
    if not ids:
        return
    touched.update(session.scalars(select(Case.id).where(Case.id.in_(case_ids), Case.customer_id.in_(ids))))
    report.customers += len(ids)
    if not dry_run:
        session.execute(update(Customer).where(Customer.id.in_(ids)).values(name=None, phone=None, email=None)
                        .execution_options(synchronize_session=False))
