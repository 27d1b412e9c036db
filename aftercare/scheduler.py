"""APScheduler is only the tick: every second it asks the dispatcher what is due in our own table."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from followup.dispatch import DispatchConfig, dispatch_due, worker_name

log = logging.getLogger("aftercare.scheduler")


def dispatch_config(settings) -> DispatchConfig:
    s = settings.scheduler
    return DispatchConfig(batch_size=s.batch_size, lease_seconds=s.lease_seconds)


def tick(app: Flask, worker: str) -> None:
    rt = app.extensions["aftercare"]
    report = dispatch_due(rt.db, rt.services["channels"], worker=worker, config=dispatch_config(rt.settings),
                          clock=rt.clock)
    if report.claimed:
        log.info("dispatch: claimed %d sent %d retried %d failed %d cancelled %d", report.claimed, report.sent,
                 report.retried, report.failed, report.cancelled)


def start_scheduler(app: Flask, *, blocking: bool = False):
    """Start the tick; `blocking` for `flask worker`, background inside the dev web process."""
    rt = app.extensions["aftercare"]
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    scheduler.add_job(tick, "interval", seconds=rt.settings.scheduler.tick_seconds, args=[app, worker_name()],
                      id="dispatch", coalesce=True, max_instances=1, replace_existing=True)
    rt.scheduler = scheduler
    scheduler.start()
    return scheduler
