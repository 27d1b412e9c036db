"""Replies that cannot reach the database: what goes into the spool (`aftercare.core.spool`) and how it is replayed.

Twilio never retries an inbound SMS or WhatsApp message, so a customer's "no, still broken" that arrives while the
database is away would be lost. A provider's webhook verifies the sender, then hands its use case (`followup.inbound`) to
`act_or_spool`: while the database cannot be reached — or older replies still wait in the spool, so that the
order of arrival holds — the verified reply is appended to the spool and the provider is answered as usual.
`replay_spool` (the tick, `flask spool replay`) later runs each entry through the same use case with the time it
arrived, in arrival order, idempotently: a reply already stored (by its MessageSid, or its email's Message-ID) is
not stored again.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Callable, TypeVar

from aftercare.core.db import Database
from aftercare.core.logs import error_summary, mask_pii
from aftercare.core.outage import database_unreachable, outage_problem
from aftercare.core.spool import Spool, SpoolEntry, SpoolError
from aftercare.core.unit_of_work import SessionUnitOfWork
from followup import inbound
from followup.checkins import FollowupContext
from followup.crm import CrmAdapter
from followup.inbound_email import ReplyTrust

log = logging.getLogger("aftercare.spool")
SMS, WHATSAPP, EMAIL = "sms", "whatsapp", "email"  # an entry's kind: its channel
T = TypeVar("T")


def act_or_spool(spool: Spool, act: Callable[[], T], *, kind: str, data: dict, now, retry_after: int) -> T | SpoolEntry:
    """`act()` (the use case), unless the spool already holds replies or the database turns out unreachable: then
    the reply (`data`) is spooled and its entry returned. A spool that cannot be written is a 503, so a provider
    that retries (SendGrid) or has a fallback URL (Twilio) uses it."""
    if not spool.has_pending():
        try:
            return act()
        except Exception as exc:
            if not database_unreachable(exc):
                raise
    try:
        entry = spool.append(kind, data, received_at=now)
    except SpoolError as exc:
        log.error("a %s reply could not be spooled while the database is unreachable: %s", kind, exc)
        raise outage_problem(retry_after, "The database cannot be reached and the reply could not be spooled; "
                                          "nothing was kept.") from exc
    log.info("a %s reply was spooled (%s) to be replayed when the database is back", kind, entry.id)
    return entry


def text_data(message: inbound.InboundText) -> dict:
    return asdict(message)


def email_data(email: inbound.InboundEmail) -> dict:
    return asdict(email)


def describe_entry(entry: SpoolEntry) -> dict:
    """What `flask spool list` shows of an entry: who (masked as in the logs), the provider's id, how long."""
    data = entry.data
    text = data.get("text") if entry.kind == EMAIL else data.get("body")
    return {"id": entry.id, "kind": entry.kind, "received_at": entry.received_at,
            "sender": mask_pii(data.get("sender") or ""),
            "provider_id": data.get("message_sid") or data.get("message_id"),
            "characters": len(text or ""), **({"error": data["_error"]} if "_error" in data else {})}


def _replay_text(uow, data: dict, *, now, crm: CrmAdapter, ctx: FollowupContext) -> bool:
    message = inbound.InboundText(**data)
    if inbound.already_seen(uow.session, message.message_sid):
        return False
    inbound.receive_message(uow, message=message, now=now, crm=crm, ctx=ctx,
                            acknowledge=False)  # the TwiML answer went out, empty, at arrival
    return True


def _replay_email(uow, data: dict, *, now, crm: CrmAdapter, ctx: FollowupContext) -> bool:
    email = inbound.InboundEmail(**{**data, "sender_trust": ReplyTrust(**data["sender_trust"])})
    return inbound.receive_email(uow, email=email, now=now, crm=crm, ctx=ctx)["status"] == "stored"


REPLAYERS = {SMS: _replay_text, WHATSAPP: _replay_text, EMAIL: _replay_email}


@dataclass
class ReplayReport:
    replayed: int = 0
    duplicates: int = 0
    set_aside: int = 0
    busy: bool = False  # another process was replaying

    @property
    def total(self) -> int:
        return self.replayed + self.duplicates + self.set_aside


def replay_spool(db: Database, spool: Spool, *, crm: CrmAdapter, ctx: FollowupContext,
                 stopping: Callable[[], bool] = lambda: False) -> ReplayReport:
    """Replay what the spool holds, oldest first, each in its own transaction, until it is empty; then empty it.

    An unreachable database stops the replay (the error is raised; what is left stays for the next try). An
    entry that fails for any other reason is set aside for a person (`spool list`) and the replay goes on.
    """
    report = ReplayReport()
    if not spool.has_pending():
        return report
    with spool.replaying() as mine:
        if not mine:
            report.busy = True
            return report
        while True:
            for entry in spool.pending():
                if stopping():
                    return report
                _replay_entry(db, spool, entry, crm=crm, ctx=ctx, report=report)
            if spool.compact():
                if report.total:
                    log.info("spool replayed: %d stored, %d already stored, %d set aside", report.replayed,
                             report.duplicates, report.set_aside)
                return report


def _replay_entry(db: Database, spool: Spool, entry: SpoolEntry, *, crm: CrmAdapter, ctx: FollowupContext,
                  report: ReplayReport) -> None:
    try:
        replayer = REPLAYERS.get(entry.kind)
        if replayer is None:
            raise ValueError(f"no replay for spooled {entry.kind!r} entries")
        with db.session() as session:
            stored = replayer(SessionUnitOfWork(session), entry.data, now=entry.received, crm=crm, ctx=ctx)
    except Exception as exc:
        if database_unreachable(exc):
            raise
        log.exception("spooled %s %s could not be replayed; set aside for a person", entry.kind, entry.id)
        spool.put_aside(entry, error_summary(exc))
        report.set_aside += 1
        return
    spool.mark_done(entry)
    if stored:
        report.replayed += 1
    else:
        report.duplicates += 1
