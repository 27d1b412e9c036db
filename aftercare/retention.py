"""Data retention (`flask --app wsgi retention purge`): each package purges what it owns, the shell adds them up.

followup redacts closed cases past `retention.days` (`followup.retention` says what goes and what stays, and has
wellbeing redact its queue items); intake drops the payloads of failed CRM events received before the cutoff;
wellbeing blanks the notes of agents' "that one rattled me" reports made before it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aftercare.core.db import Database
import wellbeing.services as wellbeing
from followup import services as followup
from intake.queue import purge_failed_payloads


@dataclass
class PurgeReport(followup.CasePurgeReport):
    webhook_events: int = 0
    rattled_notes: int = 0


def purge(db: Database, *, now: datetime, days: int, dry_run: bool = False,
          batch_size: int = followup.PURGE_BATCH) -> PurgeReport:
    report = PurgeReport(cutoff=followup.retention_cutoff(now, days), dry_run=dry_run)
    followup.purge_closed_cases(db, now=now, days=days, dry_run=dry_run, batch_size=batch_size, report=report)
    with db.session() as session:
        report.webhook_events = purge_failed_payloads(session, cutoff=report.cutoff, dry_run=dry_run)
        report.rattled_notes = wellbeing.purge_report_notes(session, cutoff=report.cutoff, dry_run=dry_run)
        if not dry_run:
            session.commit()
    return report
