"""Serving shape: gunicorn processes never run the scheduler; a stopping worker hands back what it never sent."""
from __future__ import annotations

import runpy
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, text

from followup.models import CheckIn

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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("flags", [[], ["--debug"]], ids=["plain", "reloader"])
def test_flask_run_starts_the_dispatcher_once_and_it_sends(tmp_path, flags):
    """`flask run` is every Flask user's habit: it dispatches like `serve`, once even under the reloader (whose
    parent process only watches files), and says so."""
    import json
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from aftercare import migrate
    from aftercare.core.signing import sign
    from tests.support.factories import interaction_event

    url = f"sqlite:///{tmp_path / 'run.db'}"
    migrate.upgrade(url)
    port = _free_port()
    env = {**os.environ, "AFTERCARE_DATABASE__URL": url, "AFTERCARE_CRM__WEBHOOK_SECRET": "whsec_run",
           "AFTERCARE_SERVER__INSTANCE_DIR": str(tmp_path), "AFTERCARE_LOGGING__JSON": "false"}
    env.pop("AFTERCARE_TEST_DATABASE_URL", None)
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port), *flags],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        event = interaction_event()
        body = json.dumps(event).encode()
        request = urllib.request.Request(base + "/webhooks/crm", data=body, method="POST", headers={
            "Aftercare-Signature": sign("whsec_run", body), "Content-Type": "application/json"})
        checkin = json.load(urllib.request.urlopen(request, timeout=10))["checkin"]
        from aftercare.core.db import Database

        db = Database(url)
        try:
            with db.session() as session:
                session.execute(text("UPDATE checkins SET due_at = :past"), {"past": "2020-01-01 00:00:00"})
                session.commit()
            for _ in range(100):
                with db.session() as session:
                    state = session.execute(select(CheckIn.state).where(CheckIn.id == checkin["id"])).scalar_one()
                if state == "sent":
                    break
                time.sleep(0.1)
        finally:
            db.dispose()
        assert state == "sent", "nothing dispatched the due check-in"
    finally:
        server.terminate()
        server.wait(timeout=10)
    announced = [line for line in log.read_text().splitlines() if line.startswith("dispatcher:")]
    assert len(announced) == 1 and "in this process" in announced[0], log.read_text()
