"""APScheduler is only the tick: every second it replays the reply spool, acts on queued CRM events, then asks the
dispatcher what is due in our own table (events first: they are what create check-ins).

While the database is unreachable a tick stops at its first failed statement and the next ones wait out a jittered,
growing pause (`OutageBackoff`, up to `scheduler.outage_backoff_cap_seconds`); the engine's pool pre-ping
reconnects on the first tick that gets through. No crash, no restart: what was claimed when the database went
away is taken up again when its lease runs out, and a send in flight is reconciled like one after a crash.
"""
from __future__ import annotations

import logging
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

import wellbeing.services as wellbeing
from aftercare.core.leased_queue import worker_name
from aftercare.core.outage import database_unreachable
from aftercare.core.retry import OutageBackoff
from followup import services as followup
from intake.queue import apply_queued

log = logging.getLogger("aftercare.scheduler")


def tick(app: Flask, worker: str, stopping: Callable[[], bool] = lambda: False,
         backoff: OutageBackoff | None = None) -> None:
    """One tick, or nothing while an outage's pause lasts; an unreachable database ends it quietly (this process's
    database status has logged the outage once)."""
    if backoff is not None and backoff.waiting():
        return
    try:
        _work(app.extensions["aftercare"], worker, stopping)
    except Exception as exc:
        if backoff is None or not database_unreachable(exc):
            raise
        log.debug("tick: database unreachable; next try in %.1f s", backoff.failed())
        return
    if backoff is not None:
        backoff.succeeded()


def _work(rt, worker: str, stopping: Callable[[], bool]) -> None:
    followup.replay_spool(rt.db, rt.services["spool"], crm=rt.services["crm"], ctx=rt.followup, stopping=stopping)
    crm = rt.settings.crm
    applied = apply_queued(rt.db, ctx=rt.followup, clock=rt.clock, worker=worker, batch_size=crm.intake_batch_size,
                           max_attempts=crm.intake_max_attempts, lease_seconds=rt.settings.scheduler.lease_seconds,
                           stopping=stopping, apply=crm.intake_apply)
    if applied.total:
        log.info("intake: processed %d failed %d retried %d queued CRM events", applied.processed, applied.failed,
                 applied.retried)
    report = followup.dispatch_backlog(rt.db, rt.services["channels"], worker=worker,
                                       config=followup.DispatchConfig.from_settings(rt.settings), clock=rt.clock,
                                       stopping=stopping)
    if report.claimed:
        log.info("dispatch: claimed %d sent %d retried %d failed %d cancelled %d", report.claimed, report.sent,
                 report.retried, report.failed, report.cancelled)
    if stopping():
        return
    followup.deliver_all_crm_notices(rt.db, rt.services["crm_adapters"], clock=rt.clock,
                                     policy=followup.crm_policy(rt.settings), worker=worker)
    followup.process_commitments(rt.db, now=rt.clock(), worker=worker)
    wellbeing.process_breaks(rt.db, now=rt.clock(), worker=worker)


def start_scheduler(app: Flask, *, blocking: bool = False, stopping: Callable[[], bool] | None = None):
    """Start the tick; `blocking` for `flask worker`, background inside the dev web process.

    `stopping` (the worker's shutdown event) makes an in-flight tick stop claiming after the current send.
    """
    rt = app.extensions["aftercare"]
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    settings = rt.settings.scheduler
    backoff = OutageBackoff(base=settings.tick_seconds, cap=settings.outage_backoff_cap_seconds)
    scheduler.add_job(tick, "interval", seconds=settings.tick_seconds,
                      args=[app, worker_name(), stopping or (lambda: False), backoff],
                      id="dispatch", coalesce=True, max_instances=1, replace_existing=True)
    rt.scheduler = scheduler
    scheduler.start()
    return scheduler
