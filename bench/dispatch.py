"""Bench: N due check-ins through a no-op channel — Aftercare's dispatcher against the obvious designs.

Usage: .venv/bin/python bench/dispatch.py [--n 20000] [--skip apscheduler,procrastinate,sqlite] [--batch-size 100]

Rows, each in a fresh database that is dropped afterwards:
- Aftercare, 1 and 4 `flask --app wsgi worker` processes, on SQLite and on PostgreSQL;
- the obvious design: one APScheduler `date` job per check-in in SQLAlchemyJobStore (same PostgreSQL),
  a 20-thread ThreadPoolExecutor, misfire_grace_time=None (else most late jobs would be skipped);
- procrastinate: one job per check-in deferred with schedule_at, one worker with concurrency 20.
Every design does the same work per check-in: the console channel (a no-op with logging at WARNING), then
the real state transition (state=sent, sent_at, provider id) in `checkins`. All check-ins fall due at the
same moment T; throughput is N / (last sent_at − T), lateness is sent_at − due_at per check-in.
"""
from __future__ import annotations

import argparse
import pickle
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench._common import (  # noqa: E402
    Proc,
    analyze,
    cores,
    database,
    engine_for,
    percentile,
    pg_database,
    seed_checkins,
    set_due,
    start_worker,
    table,
    utc_in,
)
from followup.channels import OutboundMessage  # noqa: E402
from followup.channels.console import ConsoleChannel  # noqa: E402
from followup.dispatch import DispatchConfig  # noqa: E402
from followup.models import CheckIn  # noqa: E402

FAR = datetime(2100, 1, 1, tzinfo=timezone.utc)
HERE = Path(__file__).resolve()


# ------------------------------------------------------------------ the obvious job body (both peers)

_SESSIONS = None
_CHANNEL = ConsoleChannel()


def send_checkin(checkin_id: str) -> None:
    """What a Flask user writes as the job: load the check-in, send it, mark it sent."""
    with _SESSIONS() as session:
        checkin = session.get(CheckIn, checkin_id)
        if checkin is None or checkin.state != "scheduled":
            return
        result = _CHANNEL.send(OutboundMessage(checkin_id=checkin.id, channel=checkin.channel, to=checkin.address,
                                               body=checkin.body))
        checkin.state, checkin.sent_at = "sent", datetime.now(timezone.utc)
        checkin.provider_message_id = result.provider_message_id
        session.commit()


def _job_sessions(url: str, pool: int = 20):
    return sessionmaker(create_engine(url, pool_size=pool, max_overflow=5), expire_on_commit=False)


# ------------------------------------------------------------------ measuring

def wait_all_sent(engine, n: int, timeout: float, procs: list[Proc] = ()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            done = conn.execute(select(func.count()).select_from(CheckIn).where(CheckIn.state == "sent")).scalar()
        if done >= n:
            return
        for proc in procs:
            if not proc.alive():
                raise RuntimeError(f"process {proc.pid} died:\n{proc.tail()}")
        time.sleep(0.5)
    raise TimeoutError(f"only {done} of {n} sent after {timeout:.0f} s")


def figures(engine, due: datetime) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(select(CheckIn.sent_at, CheckIn.due_at).where(CheckIn.state == "sent")).all()
    lateness = [(sent - due_at).total_seconds() for sent, due_at in rows]
    wall = (max(sent for sent, _ in rows) - due).total_seconds()
    return {"n": len(rows), "wall": wall, "rate": len(rows) / wall if wall > 0 else float("inf"),
            "p50": percentile(lateness, 50), "p99": percentile(lateness, 99)}


def run_aftercare(kind: str, workers: int, n: int, batch_size: int) -> dict:
    with database(kind) as url, tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
        engine = engine_for(url)
        seed_checkins(engine, n, due_at=FAR)
        analyze(engine)
        procs = [start_worker(url, tmp, f"w{i}", scheduler__tick_seconds=0.2, scheduler__batch_size=batch_size)
                 for i in range(workers)]
        try:
            for proc in procs:
                proc.wait_for("dispatching due check-ins")
            due = utc_in(1.0)
            set_due(engine, due)
            wait_all_sent(engine, n, timeout=max(120.0, n / 20), procs=procs)
            result = figures(engine, due)
        finally:
            for proc in procs:
                proc.stop()
            engine.dispose()
    return result


def run_apscheduler(n: int) -> dict:
    from apscheduler.job import Job
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.util import datetime_to_utc_timestamp

    with pg_database() as url, tempfile.TemporaryDirectory(prefix="bench-aps-") as tmp:
        engine = engine_for(url)
        ids = seed_checkins(engine, n, due_at=FAR)
        store = SQLAlchemyJobStore(engine=engine)
        store.jobs_t.create(engine, checkfirst=True)
        due = utc_in(6.0 + n / 4000)  # after the jobs are written and the scheduler process is up
        scheduler = BackgroundScheduler(timezone="UTC")
        trigger, stamp = DateTrigger(run_date=due, timezone="UTC"), datetime_to_utc_timestamp(due)
        rows = []
        for checkin_id in ids:  # what `add_job` stores, written in bulk (20,000 add_job calls take minutes)
            job = Job(scheduler, id=f"checkin:{checkin_id}", func=send_checkin, trigger=trigger, executor="default",
                      args=(checkin_id,), kwargs={}, name="send_checkin", misfire_grace_time=None, coalesce=False,
                      max_instances=1, next_run_time=due)
            rows.append({"id": job.id, "next_run_time": stamp,
                         "job_state": pickle.dumps(job.__getstate__(), pickle.HIGHEST_PROTOCOL)})
        with engine.begin() as conn:
            conn.execute(store.jobs_t.insert(), rows)
        set_due(engine, due)
        analyze(engine)
        proc = Proc([sys.executable, str(HERE), "_apscheduler", url], _env(), Path(tmp) / "aps.log")
        try:
            proc.wait_for("ready")
            if datetime.now(timezone.utc) > due:
                print("warning: the APScheduler process came up after the due time", file=sys.stderr)
            wait_all_sent(engine, n, timeout=max(300.0, n / 10), procs=[proc])
            result = figures(engine, due)
        finally:
            proc.stop()
            engine.dispose()
    return result


def _apscheduler_process(url: str) -> None:
    global _SESSIONS
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    _SESSIONS = _job_sessions(url)
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)},
                                    executors={"default": ThreadPoolExecutor(20)}, timezone="UTC")
    scheduler.start()
    _serve_until_term("ready", scheduler.shutdown)


def _procrastinate_app(url: str):
    import procrastinate

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    app.task(name="send_checkin")(send_checkin)
    return app


def run_procrastinate(n: int) -> dict:
    with pg_database() as url, tempfile.TemporaryDirectory(prefix="bench-proc-") as tmp:
        engine = engine_for(url)
        ids = seed_checkins(engine, n, due_at=FAR)
        app = _procrastinate_app(url)
        due = utc_in(8.0 + n / 3000)
        with app.open():
            app.schema_manager.apply_schema()
            task = app.tasks["send_checkin"]
            for start in range(0, n, 5000):
                task.configure(schedule_at=due).batch_defer(*({"checkin_id": i} for i in ids[start:start + 5000]))
        set_due(engine, due)
        analyze(engine)
        proc = Proc([sys.executable, str(HERE), "_procrastinate", url], _env(), Path(tmp) / "proc.log")
        try:
            proc.wait_for("ready")
            if datetime.now(timezone.utc) > due:
                print("warning: the procrastinate worker came up after the due time", file=sys.stderr)
            wait_all_sent(engine, n, timeout=max(300.0, n / 5), procs=[proc])
            result = figures(engine, due)
        finally:
            proc.stop()
            engine.dispose()
    return result


def _procrastinate_process(url: str) -> None:
    global _SESSIONS
    import logging

    logging.basicConfig(level=logging.WARNING)
    _SESSIONS = _job_sessions(url)
    app = _procrastinate_app(url)
    with app.open():
        print("ready", flush=True)
        app.run_worker(concurrency=20, wait=True, install_signal_handlers=True, delete_jobs="never",
                       fetch_job_polling_interval=0.5)


def _serve_until_term(message: str, stop) -> None:
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print(message, flush=True)
    while not stopping.wait(3600):
        pass
    stop()


def _env() -> dict:
    import os

    return {**os.environ, "PYTHONPATH": str(HERE.parents[1]), "PYTHONUNBUFFERED": "1"}


# ------------------------------------------------------------------ report

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=DispatchConfig.batch_size,
                        help="scheduler.batch_size for Aftercare workers (default: the shipped default)")
    parser.add_argument("--skip", default="", help="comma list of: sqlite, postgresql, apscheduler, procrastinate")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test").connect() as conn:
        pg_version = conn.execute(text("show server_version")).scalar()
    print(f"bench/dispatch.py: N={args.n:,} due check-ins, no-op (console) channel; {cores()} cores (nproc); "
          f"PostgreSQL {pg_version}; Aftercare batch_size={args.batch_size}", flush=True)
    results = []
    plan = [("Aftercare", kind, w) for kind in ("sqlite", "postgresql") for w in (1, 4) if kind not in skip]
    plan += [(peer, "postgresql", 1) for peer in ("apscheduler", "procrastinate") if peer not in skip]
    for design, kind, workers in plan:
        started = time.perf_counter()
        if design == "Aftercare":
            result = run_aftercare(kind, workers, args.n, args.batch_size)
            label, conc = "Aftercare dispatcher", f"{workers} worker process{'es' if workers > 1 else ''}"
        elif design == "apscheduler":
            result = run_apscheduler(args.n)
            label, conc = "APScheduler date job per check-in (SQLAlchemyJobStore)", "1 process, 20 threads"
        else:
            result = run_procrastinate(args.n)
            label, conc = "procrastinate job per check-in (schedule_at)", "1 worker, concurrency 20"
        print(f"  {label} on {kind}, {conc}: {result['rate']:,.0f}/s "
              f"(run took {time.perf_counter() - started:.0f} s with set-up)", flush=True)
        results.append((label, kind, conc, result))
    base = next((r for label, kind, _, r in results if label.startswith("APScheduler")), None)
    rows = [(label, kind, conc, r["n"], r["wall"], r["rate"], f"{r['rate'] / base['rate']:.1f}×" if base else "-",
             r["p50"], r["p99"]) for label, kind, conc, r in results]
    print()
    print(table(("design", "database", "concurrency", "sent", "seconds", "check-ins/s", "vs APScheduler",
                 "lateness p50 s", "lateness p99 s"), rows))
    goal = next((r for label, kind, conc, r in results if label.startswith("Aftercare") and kind == "postgresql"
                 and conc.startswith("4")), None)
    if base and goal:
        ratio = goal["rate"] / base["rate"]
        print(f"\ngoal: Aftercare on PostgreSQL with 4 workers ≥ 20× the APScheduler design: {ratio:.1f}× "
              f"({'met' if ratio >= 20 else 'NOT met'})")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_apscheduler":
        _apscheduler_process(sys.argv[2])
    elif len(sys.argv) > 2 and sys.argv[1] == "_procrastinate":
        _procrastinate_process(sys.argv[2])
    else:
        main()
