"""Bench: a worker's memory and claim latency with 10k vs 1M pending (future-due) check-ins, on PostgreSQL.

Usage: .venv/bin/python bench/pending.py [--large 1000000] [--small 10000] [--due 1000]

Pending check-ins live only in the database: a worker's tick asks for what is due (an index range scan
that stops at the batch size), never loads the backlog. For each level a fresh `flask --app wsgi worker`
runs against the same database; we read its RSS while idle and after it dispatched `--due` check-ins
that fell due among the pending ones, time the claim query itself (nothing due: the cost of every idle
tick), and the lateness of the due ones (sent_at − due_at).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from aftercare.core.clock import utcnow  # noqa: E402
from aftercare.core.db import Database  # noqa: E402
from bench._common import (  # noqa: E402
    analyze,
    cores,
    engine_for,
    percentile,
    pg_database,
    seed_checkins,
    start_worker,
    table,
    utc_in,
)
from followup.dispatch import DispatchConfig, claim_due  # noqa: E402
from followup.models import CheckIn  # noqa: E402

FAR = datetime(2100, 1, 1, tzinfo=timezone.utc)


def claim_latency(url: str, probes: int = 200) -> tuple[float, float]:
    """ms per claim (SELECT … FOR UPDATE SKIP LOCKED + commit) when nothing is due: every idle tick."""
    db, times = Database(url), []
    config = DispatchConfig()
    for _ in range(probes):
        started = time.perf_counter()
        with db.session() as session:
            assert claim_due(session, now=utcnow(), worker="probe", config=config) == []
        times.append((time.perf_counter() - started) * 1000)
    db.dispose()
    return percentile(times, 50), percentile(times, 99)


def measure(url: str, engine, pending: int, due: int, tmp: str) -> dict:
    worker = start_worker(url, tmp, f"w{pending}", scheduler__tick_seconds=0.2)
    try:
        worker.wait_for("dispatching due check-ins")
        time.sleep(3)  # a dozen idle ticks
        rss_idle = worker.rss_kib()
        claim_p50, claim_p99 = claim_latency(url)
        due_at = utc_in(2.0)
        seed_checkins(engine, due, due_at=due_at, prefix=f"due{pending}_")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                sent = conn.execute(select(func.count()).select_from(CheckIn)
                                    .where(CheckIn.state == "sent", CheckIn.id.like(f"chk_due{pending}_%"))).scalar()
            if sent >= due:
                break
            time.sleep(0.3)
        with engine.connect() as conn:
            rows = conn.execute(select(CheckIn.sent_at, CheckIn.due_at)
                                .where(CheckIn.id.like(f"chk_due{pending}_%"), CheckIn.state == "sent")).all()
        lateness = [(s - d).total_seconds() for s, d in rows]
        rss_after = worker.rss_kib()
    finally:
        worker.stop()
    return {"pending": pending, "rss_idle": rss_idle / 1024, "rss_after": rss_after / 1024, "claim_p50": claim_p50,
            "claim_p99": claim_p99, "sent": len(rows), "late_p50": percentile(lateness, 50),
            "late_p99": percentile(lateness, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    print(f"bench/pending.py: {cores()} cores (nproc); one `flask --app wsgi worker` (tick 0.2 s, batch 100) per "
          f"row; PostgreSQL at 127.0.0.1", flush=True)
    results = []
    with pg_database() as url, tempfile.TemporaryDirectory(prefix="bench-pending-") as tmp:
        engine = engine_for(url)
        seeded = 0
        for level in (args.small, args.large):
            started = time.perf_counter()
            seed_checkins(engine, level - seeded, due_at=FAR, start=seeded)
            seeded = level
            analyze(engine)
            print(f"  {level:,} pending check-ins in the table (seeded in {time.perf_counter() - started:.0f} s)",
                  flush=True)
            results.append(measure(url, engine, level, args.due, tmp))
        engine.dispose()
    print()
    print(table(("pending", "worker RSS idle MiB", f"RSS after {args.due:,} sent MiB", "idle claim p50 ms",
                 "idle claim p99 ms", "due sent", "lateness p50 s", "lateness p99 s"),
                [(r["pending"], r["rss_idle"], r["rss_after"], r["claim_p50"], r["claim_p99"], r["sent"],
                  r["late_p50"], r["late_p99"]) for r in results]))
    small, large = results
    print(f"\nRSS change from {small['pending']:,} to {large['pending']:,} pending: "
          f"{large['rss_after'] - small['rss_after']:+.1f} MiB; "
          f"idle claim p50 ×{large['claim_p50'] / small['claim_p50']:.2f}")


if __name__ == "__main__":
    main()
