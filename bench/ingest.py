"""Bench: signed interaction.closed webhooks through gunicorn + PostgreSQL, next to a bare Flask endpoint.

Usage: .venv/bin/python bench/ingest.py [--seconds 10] [--connections 16] [--workers N] [--drain-workers 2]
                                        [--backlog 3000] [--rounds 1] [--batch-size N] [--client wrk|aiohttp]
                                        [--skip-door]

Three servers, each with config/gunicorn.conf.py (same workers, same worker class):
- the bare endpoint reads the body and answers 202 — the ceiling for this server on this machine;
- Aftercare with `crm.intake_mode = "queued"`: signature, validation, triage, one INSERT, 202;
- Aftercare with `crm.intake_mode = "inline"`: the whole intake in the request (customer, case,
  interaction, check-in, agent load, break planning, idempotency record, one commit).
Every request is a distinct, freshly signed event (a new interaction, case and customer; 200 agents).
After the queued row, `--drain-workers` real `flask --app wsgi worker` processes act on what it stored;
the bench times them until the queue is empty (the rate a backlog drains at).

Then the drain, batched against per event: one database is filled with a backlog of `--backlog` queued
interaction.closed events (what the door stores; 200 agents) and cloned (`CREATE DATABASE … TEMPLATE`), so
each mode starts from the same rows. On one clone per mode, `--drain-workers` worker processes with
`crm.intake_apply = "per_event"` (the baseline: one transaction per event) or `"batched"` (the shipped
default) are timed until the queue is empty: `drain ratio: N×`. On another clone per mode, one in-process
worker acts on the same backlog with a SQLAlchemy `before_cursor_execute` listener on its engine: statements
per event (each cursor execution; an executemany also counted by its parameter sets) and CPU per event.
The load generator is bounded (fixed connections, fixed duration) and on loopback: Debian's `wrk` with a
Lua script replaying pre-signed requests when installed (`apt-get install wrk`), else asyncio + aiohttp.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, Proc, analyze, cores, percentile, pg_database, start_worker, table, worker_env  # noqa: E402

SECRET = "whsec_bench_ingest"
QUEUED = "Aftercare POST /webhooks/crm, queued"
INLINE = "Aftercare POST /webhooks/crm, inline"
PATH = "/webhooks/crm"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
LUA = r"""
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  reqs = {}
  for line in io.lines(args[1] .. "." .. tid) do
    local sig, body = line:match("^([^\t]+)\t(.*)$")
    reqs[#reqs + 1] = wrk.format("POST", "%s",
      {["Content-Type"] = "application/json", ["Aftercare-Signature"] = sig}, body)
  end
  i = 0
end
function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\n", summary.requests, summary.duration, e.status,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout))
end
""" % PATH


def bare():
    """The ceiling: a Flask endpoint that reads the body and answers 202 (gunicorn target `bench.ingest:bare()`)."""
    from flask import Flask, jsonify, request

    app = Flask("bare")

    @app.post(PATH)
    def crm():
        request.get_data()
        return jsonify({"accepted": True}), 202

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def events(n: int, tag: str) -> list[tuple[str, bytes]]:
    """n distinct signed interaction.closed events: (signature header, body)."""
    from aftercare.core.signing import sign

    out, now = [], int(time.time())
    for i in range(n):
        body = json.dumps({
            "event_id": f"evt_{tag}_{i}", "type": "interaction.closed", "occurred_at": "2026-11-25T14:02:00Z",
            "interaction": {"id": f"int_{tag}_{i}", "case_id": f"case_{tag}_{i}", "channel": "chat",
                            "journey_stage": "billing", "category": "double_charge",
                            "started_at": "2026-11-25T13:40:00Z", "ended_at": "2026-11-25T14:00:00Z",
                            "escalated_from_bot": True, "resolution": "workaround", "customer_sentiment": -0.7,
                            "signals": ["threatened_churn"], "repeat_contact_count": 2},
            "agent": {"id": f"ag_{i % 200}", "name": "Maria Lopez", "team": "billing-emea"},
            "customer": {"id": f"cus_{tag}_{i}", "name": "Sam Carter", "phone": f"+1415{i % 10_000_000:07d}",
                         "email": f"sam{i}@example.com", "timezone": "Europe/London", "locale": "en-GB",
                         "consent": {"sms": True, "email": True}}}).encode()
        out.append((sign(SECRET, body, now), body))
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(target: str, env: dict, tmp: Path, workers: int) -> tuple[Proc, int]:
    port = free_port()
    proc = Proc([GUNICORN, "-c", str(ROOT / "config" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
                 "--workers", str(workers), target], env, tmp / f"gunicorn-{port}.log")
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(proc.tail())


def run_wrk(port: int, prepared: list[tuple[str, bytes]], *, seconds: float, connections: int, tmp: Path) -> dict:
    threads = max(1, min(cores(), connections))
    prefix = tmp / f"reqs-{uuid.uuid4().hex[:6]}"
    for t in range(threads):
        with open(f"{prefix}.{t}", "wb") as fh:
            for sig, body in prepared[t::threads]:
                fh.write(sig.encode() + b"\t" + body + b"\n")
    script = tmp / "ingest.lua"
    script.write_text(LUA)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s",
                          "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}", "--", str(prefix)],
                         capture_output=True, text=True, check=True).stdout
    n, duration_us, bad_status, p50, p99, socket_errors = map(int, re.search(r"RESULT (.+)", out).group(1).split())
    if n > len(prepared):
        print(f"warning: {n} requests but only {len(prepared)} distinct events: the rest were replays",
              file=sys.stderr)
    return {"requests": n, "rate": n / (duration_us / 1e6), "p50": p50 / 1000, "p99": p99 / 1000,
            "errors": bad_status + socket_errors}


def run_aiohttp(port: int, prepared: list[tuple[str, bytes]], *, seconds: float, connections: int,
                tmp: Path) -> dict:
    import aiohttp

    async def main() -> dict:
        latencies, errors, cursor = [], 0, iter(prepared)
        deadline = time.perf_counter() + seconds

        async def client(session):
            nonlocal errors
            while time.perf_counter() < deadline:
                sig, body = next(cursor, (None, None))
                if body is None:
                    break  # every prepared event sent (a warm-up may run out before its seconds do)
                started = time.perf_counter()
                async with session.post(f"http://127.0.0.1:{port}{PATH}", data=body, headers={
                        "Aftercare-Signature": sig, "Content-Type": "application/json"}) as resp:
                    await resp.read()
                    errors += resp.status >= 300
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
            await asyncio.gather(*(client(session) for _ in range(connections)))
        elapsed = time.perf_counter() - started
        return {"requests": len(latencies), "rate": len(latencies) / elapsed,
                "p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000, "errors": errors}

    return asyncio.run(main())


def drain(url: str, tmp: Path, workers: int, env_settings: dict) -> dict:
    """Start `workers` worker processes on the queued events in the database; time them until none is queued.

    The rate counts from the first event acted on (the earliest `processed_at`) to the queue found empty (polled
    every 0.1 s): the workers' start-up (importing the app, ≈ 2 s here) is the same for every mode and is no part
    of how fast a backlog drains; `seconds_with_startup` keeps it."""
    from sqlalchemy import create_engine, func, select

    from intake.models import WebhookEvent

    engine = create_engine(url)

    def queued() -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(WebhookEvent)
                                .where(WebhookEvent.state == "queued")).scalar()

    backlog, started = queued(), time.time()
    procs = [start_worker(url, tmp, f"drain{i}", scheduler__tick_seconds=0.2, **env_settings) for i in range(workers)]
    try:
        left = backlog
        while left and time.time() - started < 600:
            time.sleep(0.1)
            left = queued()
        ended = time.time()
    finally:
        for proc in procs:
            proc.stop()
    with engine.connect() as conn:
        failed = conn.execute(select(func.count()).select_from(WebhookEvent)
                              .where(WebhookEvent.state == "failed")).scalar()
        first = conn.execute(select(func.min(WebhookEvent.processed_at))).scalar()
    engine.dispose()
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=timezone.utc)
    elapsed = max(1e-3, ended - (first.timestamp() if first is not None else started))
    return {"events": backlog - left, "rate": (backlog - left) / elapsed, "seconds": elapsed, "left": left,
            "failed": failed, "seconds_with_startup": ended - started}


def fill_backlog(url: str, n: int) -> None:
    """n queued interaction.closed events as the door stores them (payload, order keys), in arrival order."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import create_engine

    from intake.models import WebhookEvent
    from intake.service import order_keys

    engine, start = create_engine(url), datetime.now(timezone.utc)
    rows = []
    for i, (_, body) in enumerate(events(n, f"bk{uuid.uuid4().hex[:6]}")):
        data = json.loads(body)
        rows.append({"event_id": data["event_id"], "type": data["type"], "status_code": 202,
                     "response": {"event_id": data["event_id"], "status": "queued"}, "state": "queued",
                     "payload": data, "attempts": 0, "received_at": start + timedelta(microseconds=i),
                     "case_key": None, "customer_key": None, "agent_key": None, **order_keys(data)})
    with engine.begin() as conn:
        conn.execute(WebhookEvent.__table__.insert(), rows)
    analyze(engine)  # the clones copy the statistics: both modes claim with the same plans
    engine.dispose()


@contextlib.contextmanager
def clone(template_url: str):
    """A copy of the template database (same rows, same backlog), dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    source = make_url(template_url)
    name = f"{source.database}_c{uuid.uuid4().hex[:6]}"
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
    try:
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def count_statements(url: str, mode: str, tmp: Path, batch_size: int) -> dict:
    """Act on the whole backlog in this process, counting what goes to the database."""
    import os

    from sqlalchemy import event
    from sqlalchemy.engine.interfaces import ExecuteStyle

    from aftercare.app import create_app
    from intake.queue import apply_queued

    app = create_app({"database": {"url": url}, "crm": {"webhook_secret": SECRET, "intake_mode": "queued",
                                                        "intake_apply": mode, "intake_batch_size": batch_size},
                      "server": {"instance_dir": str(tmp / f"instance-{mode}")}, "scheduler": {"enabled": False},
                      "logging": {"level": "WARNING"}})
    rt = app.extensions["aftercare"]
    counted = {"executions": 0, "statements": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        counted["executions"] += 1  # an INSERT … VALUES (…), (…) SQLAlchemy renders for many rows is one
        many = executemany and getattr(context, "execute_style", None) is ExecuteStyle.EXECUTEMANY
        counted["statements"] += len(parameters) if many else 1  # a driver executemany: one per row

    event.listen(rt.db.engine, "before_cursor_execute", before)
    processed = failed = 0
    cpu, started = os.times(), time.perf_counter()
    while True:
        report = apply_queued(rt.db, ctx=rt.followup, clock=rt.clock, worker="count", batch_size=batch_size,
                              apply=mode, budget_seconds=3600)
        processed, failed = processed + report.processed, failed + report.failed
        if not report.total:
            break
    elapsed, used = time.perf_counter() - started, os.times()
    rt.db.dispose()
    n = max(1, processed + failed)
    return {"events": processed + failed, "failed": failed, "per_event": counted["executions"] / n,
            "statements_per_event": counted["statements"] / n,
            "cpu_ms": ((used.user - cpu.user) + (used.system - cpu.system)) * 1000 / n, "rate": n / elapsed}


def compare_drain(args, tmp: Path) -> dict:
    """Per event against batched, each on its own clone of one backlog; `--rounds` alternates them (the machine is
    shared: the ratio of each round is printed, the table has the median)."""
    out: dict = {"per_event": {"rounds": []}, "batched": {"rounds": []}}
    with pg_database(prefix="aftercare_backlog") as template:
        fill_backlog(template, args.backlog)
        for n in range(args.rounds):
            for mode in ("per_event", "batched"):
                with clone(template) as url:
                    r = drain(url, tmp, args.drain_workers, {"crm__webhook_secret": SECRET, "crm__intake_apply": mode,
                                                             "crm__intake_batch_size": args.batch_size})
                out[mode]["rounds"].append(r)
                print(f"  drain {n + 1}/{args.rounds}, {mode}: {args.drain_workers} workers acted on {r['events']:,} "
                      f"events in {r['seconds']:.1f} s ({r['rate']:,.0f}/s; {r['seconds_with_startup']:.1f} s with "
                      f"start-up), {r['failed']} failed", flush=True)
        for mode in ("per_event", "batched"):
            rounds = sorted(out[mode]["rounds"], key=lambda r: r["rate"])
            out[mode].update(rounds[(len(rounds) - 1) // 2])  # the median, the lower one of an even count
            with clone(template) as url:
                out[mode]["count"] = c = count_statements(url, mode, tmp, args.batch_size)
            print(f"  statements, {mode}: {c['per_event']:.2f} per event ({c['statements_per_event']:.2f} counting a "
                  f"driver executemany per row), {c['cpu_ms']:.2f} ms worker CPU per event", flush=True)
    return out


def print_drain(compared: dict, args) -> None:
    base, ours = compared["per_event"], compared["batched"]
    rows = [(f"{mode} ({args.drain_workers} worker processes)", r["events"], r["rate"], r["seconds"], r["failed"],
             r["left"], r["count"]["per_event"], r["count"]["statements_per_event"], r["count"]["cpu_ms"])
            for mode, r in (("per_event", base), ("batched", ours))]
    print()
    print(table(("crm.intake_apply", "events", "events/s", "seconds", "failed", "left", "stmts/event",
                 "stmts/event, executemany per row", "worker CPU ms/event"), rows))
    each = ", ".join(f"{b['rate'] / p['rate']:.1f}×" for p, b in zip(base["rounds"], ours["rounds"]))
    print(f"\ndrain ratio: {ours['rate'] / base['rate']:.1f}× (batched / per_event, median of {args.rounds} "
          f"round(s): {each}; {cores()} cores, backlog {args.backlog:,}, crm.intake_batch_size {args.batch_size})")
    print(f"statements per event: {ours['count']['per_event']:.2f} batched vs {base['count']['per_event']:.2f} "
          f"per event ({ours['count']['per_event'] / base['count']['per_event']:.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2 * multiprocessing.cpu_count(),
                        help="gunicorn workers for every server (default: config/gunicorn.conf.py's 2 × cores)")
    parser.add_argument("--drain-workers", type=int, default=2,
                        help="`flask --app wsgi worker` processes that then act on the queued events")
    parser.add_argument("--client", choices=("wrk", "aiohttp"), default="wrk" if shutil.which("wrk") else "aiohttp")
    parser.add_argument("--backlog", type=int, default=3000, help="queued events for the batched/per-event drain")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="crm.intake_batch_size for the statement count (default: config/default.toml's)")
    parser.add_argument("--rounds", type=int, default=1, help="drains per mode, alternating (median reported)")
    parser.add_argument("--skip-door", action="store_true", help="only the drain comparison")
    args = parser.parse_args()
    if args.batch_size is None:
        from config.settings import load_settings

        args.batch_size = load_settings().crm.intake_batch_size
    if args.skip_door:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
            print(f"bench/ingest.py: {cores()} cores (nproc); drain only", flush=True)
            print_drain(compare_drain(args, Path(tmp_name)), args)
        return
    run = run_wrk if args.client == "wrk" else run_aiohttp
    print(f"bench/ingest.py: {cores()} cores (nproc); gunicorn {args.workers} sync workers "
          f"(config/gunicorn.conf.py); load: {args.client}, {args.connections} connections, {args.seconds:.0f} s "
          f"per row on loopback; PostgreSQL at 127.0.0.1", flush=True)
    results, servers = {}, (("bare Flask endpoint (ceiling)", "bench.ingest:bare()", "inline"),
                            (QUEUED, "wsgi:app", "queued"), (INLINE, "wsgi:app", "inline"))
    with pg_database() as url, tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        for label, target, mode in servers:
            env = worker_env(url, tmp, crm__webhook_secret=SECRET, scheduler__enabled="false", crm__intake_mode=mode)
            env["AFTERCARE_LOGGING__LEVEL"] = "WARNING"
            env["AFTERCARE_WEB_LOG_LEVEL"] = "error"
            proc, port = start_server(target, env, tmp, args.workers)
            try:
                tag = uuid.uuid4().hex[:6]
                run(port, events(400, f"warm{tag}"), seconds=2, connections=args.connections, tmp=tmp)
                prepared = events(int(args.seconds * 6000), tag)  # more than the server can take: no replays
                results[label] = run(port, prepared, seconds=args.seconds, connections=args.connections, tmp=tmp)
            finally:
                proc.stop()
            r = results[label]
            print(f"  {label}: {r['rate']:,.0f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, "
                  f"{r['errors']} errors", flush=True)
            if mode == "queued" and target == "wsgi:app":
                drained = drain(url, tmp, args.drain_workers, {"crm__webhook_secret": SECRET})
                print(f"  drain: {args.drain_workers} workers acted on {drained['events']:,} queued events in "
                      f"{drained['seconds']:.1f} s ({drained['rate']:,.0f}/s), {drained['failed']} failed, "
                      f"{drained['left']} left", flush=True)
        from sqlalchemy import create_engine, func, select

        from followup.models import CheckIn, Interaction

        engine = create_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(Interaction)).scalar()
            checkins = conn.execute(select(func.count()).select_from(CheckIn)).scalar()
        engine.dispose()
        compared = compare_drain(args, tmp)
    bare_rate = results["bare Flask endpoint (ceiling)"]["rate"]
    rows = [(label, r["requests"], r["rate"], f"{r['rate'] / bare_rate:.0%}", r["p50"], r["p99"], r["errors"])
            for label, r in results.items()]
    print()
    print(table(("endpoint", "requests", "req/s", "of bare", "p50 ms", "p99 ms", "errors"), rows))
    print()
    print(table(("queued events acted on by", "events", "events/s", "seconds", "failed", "left"),
                [(f"{args.drain_workers} worker processes", drained["events"], drained["rate"], drained["seconds"],
                  drained["failed"], drained["left"])]))
    print(f"\n{stored:,} interactions and {checkins:,} check-ins stored (both Aftercare rows, incl. warm-up)")
    print_drain(compared, args)
    ours = results[QUEUED]
    print(f"goal: ≥ 1,500 webhooks/s, p99 < 50 ms, ≥ 50 % of bare: {ours['rate']:,.0f}/s, p99 {ours['p99']:.1f} ms, "
          f"{ours['rate'] / bare_rate:.0%} of bare (crm.intake_mode = \"queued\")")


if __name__ == "__main__":
    main()
