"""Serving shape: gunicorn processes never run the scheduler; a stopping worker hands back what it never sent."""
from __future__ import annotations

import runpy
from collections import Counter
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]


def test_create_app_never_starts_the_scheduler(overrides):
    """gunicorn imports wsgi.py → create_app() in every web worker: no APScheduler there, even when enabled."""
    from aftercare.app import create_app

    overrides["scheduler"] = {"enabled": True}
    app = create_app(overrides)
    try:
        assert app.extensions["aftercare"].scheduler is None
    finally:
        app.extensions["aftercare"].db.dispose()


def test_gunicorn_config_defaults(monkeypatch):
    import multiprocessing

    for name in ("WEB_CONCURRENCY", "AFTERCARE_WEB_THREADS", "AFTERCARE_ACCESS_LOG", "AFTERCARE_BIND"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    assert conf["workers"] == 2 * multiprocessing.cpu_count() and conf["worker_class"] == "sync"
    assert conf["preload_app"] is False and conf["accesslog"] is None
    assert conf["graceful_timeout"] < conf["timeout"] and conf["bind"] == "127.0.0.1:8000"
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("AFTERCARE_WEB_THREADS", "4")
    conf = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    assert conf["workers"] == 3 and conf["worker_class"] == "gthread"


def test_run_prod_starts_one_gunicorn_and_n_workers():
    from aftercare.supervisor import commands

    names = [name for name, _ in commands(workers=3, bind="127.0.0.1:9000", web_workers=None)]
    argv = dict(commands(workers=3, bind="127.0.0.1:9000", web_workers=None))
    assert names == ["web", "worker-1", "worker-2", "worker-3"]
    assert argv["web"][-1] == "wsgi:app" and "127.0.0.1:9000" in argv["web"]
    assert argv["worker-2"][-3:] == ["--app", "wsgi", "worker"]


def test_stopping_mid_batch_finishes_the_send_in_flight_and_hands_back_the_rest(rt, clock):
    """SIGTERM in `flask worker` sets the event `stopping` reads: one send completes, the rest go back."""
    from bench._common import seed_checkins
    from followup.dispatch import DispatchConfig, dispatch_due, release_claims
    from followup.models import CheckIn

    seed_checkins(rt.db.engine, 30, due_at=clock.now)
    channel = rt.services["channels"]["sms"]
    sent_before = len(channel.outbox)
    report = dispatch_due(rt.db, rt.services["channels"], now=clock.now, worker="w1",
                          config=DispatchConfig(batch_size=30, chunk_size=10),
                          stopping=lambda: len(channel.outbox) > sent_before)
    assert report.claimed == 30 and report.sent == 1
    assert release_claims(rt.db, worker="w1") == 0  # already handed back by dispatch_due
    with rt.db.session() as session:
        rows = session.scalars(select(CheckIn)).all()
        assert Counter(r.state for r in rows) == {"sent": 1, "scheduled": 29}
        assert all(r.send_started_at is None and r.claimed_by is None and r.attempts == 0
                   for r in rows if r.state == "scheduled")
