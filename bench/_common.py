"""Shared bench helpers: throwaway databases, fast check-in seeding, worker processes, tables.

Used by bench/dispatch.py, bench/ingest.py, bench/pending.py and tests/integration/test_crash_safety.py.
Every database made here is dropped afterwards; every process started here is stopped by its pid.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("AFTERCARE_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FLASK = str(Path(sys.executable).with_name("flask"))
BODY = ("Hi Sam, this is Maria from Acme. Yesterday you had trouble with a double charge - is it sorted now? "
        "Just reply to this message.")


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# ---------------------------------------------------------------- databases

@contextmanager
def pg_database(admin_url: str = PG_URL, prefix: str = "aftercare_bench", migrate: bool = True) -> Iterator[str]:
    """A fresh PostgreSQL database for one run (migrated), dropped afterwards even if the run fails."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def sqlite_database(migrate: bool = True) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="aftercare-bench-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        if migrate:
            _migrate(url)
        yield url


@contextmanager
def database(kind: str, **kwargs) -> Iterator[str]:
    with (pg_database(**kwargs) if kind == "postgresql" else sqlite_database(**kwargs)) as url:
        yield url


def _migrate(url: str) -> None:
    from aftercare import migrate

    migrate.upgrade(url)


def engine_for(url: str) -> Engine:
    from aftercare.core.db import make_engine

    return make_engine(url)


# ---------------------------------------------------------------- seeding

def seed_checkins(engine: Engine, n: int, *, due_at: datetime, prefix: str = "b", start: int = 0,
                  per_customer: int = 10, provider: str = "console", state: str = "scheduled") -> list[str]:
    """n scheduled SMS check-ins (with the customers, cases and interactions their keys need).

    COPY on PostgreSQL (a million rows in well under a minute), executemany elsewhere.
    Returns the check-in ids, in due order.
    """
    now = datetime.now(timezone.utc)
    idx = range(start, start + n)
    customers = sorted({i // per_customer for i in idx})
    tables = {
        "customers": (("id", "timezone", "phone", "consent_sms", "consent_email", "updated_at"),
                      ((f"{prefix}cus{c}", "UTC", f"+1555{c:07d}", True, True, now) for c in customers)),
        "cases": (("id", "customer_id", "state", "created_at", "updated_at"),
                  ((f"{prefix}case{c}", f"{prefix}cus{c}", "closed", now, now) for c in customers)),
        "interactions": (
            ("id", "event_id", "case_id", "customer_id", "channel", "ended_at", "escalated_from_bot", "resolution",
             "signals", "repeat_contact_count", "refund_or_credit_decision", "irreversible_action", "triage_decision",
             "triage_scores", "triage_reasons", "important", "held_out", "schedule_reasons", "created_at"),
            ((f"{prefix}int{i}", f"{prefix}evt{i}", f"{prefix}case{i // per_customer}",
              f"{prefix}cus{i // per_customer}", "chat", now, False, "unresolved", [], 0, False, False,
              "automated_checkin", {}, [], False, False, [], now) for i in idx)),
        "checkins": (
            ("id", "case_id", "interaction_id", "customer_id", "channel", "provider", "address", "body", "state",
             "due_at", "attempts", "important", "reply_token", "created_at", "updated_at"),
            ((checkin_id(prefix, i), f"{prefix}case{i // per_customer}", f"{prefix}int{i}",
              f"{prefix}cus{i // per_customer}", "sms", provider, f"+1555{i:07d}", BODY, state, due_at, 0, False,
              f"{prefix}tok{i}", now, now) for i in idx)),
    }
    for table, (columns, rows) in tables.items():
        if engine.dialect.name == "postgresql":
            _copy(engine, table, columns, rows)
        else:
            _executemany(engine, table, columns, rows)
    return [checkin_id(prefix, i) for i in idx]


def checkin_id(prefix: str, i: int) -> str:
    return f"chk_{prefix}{i:09d}"


def _copy_value(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _copy(engine: Engine, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_copy_value(v) for v in row])
        raw.commit()
    finally:
        raw.close()


def _executemany(engine: Engine, table: str, columns: Sequence[str], rows: Iterable[tuple], chunk: int = 5000) -> None:
    from aftercare.model_registry import metadata

    tbl = metadata.tables[table]
    batch: list[dict] = []
    with engine.begin() as conn:
        for row in rows:
            batch.append(dict(zip(columns, row)))
            if len(batch) >= chunk:
                conn.execute(tbl.insert(), batch)
                batch = []
        if batch:
            conn.execute(tbl.insert(), batch)


def analyze(engine: Engine) -> None:
    """Fresh planner statistics after a bulk load (what autovacuum does within a minute in production)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def set_due(engine: Engine, due_at: datetime) -> None:
    from followup.models import CheckIn

    with engine.begin() as conn:
        conn.execute(CheckIn.__table__.update().where(CheckIn.__table__.c.state == "scheduled").values(due_at=due_at))


# ---------------------------------------------------------------- processes

def worker_env(url: str, tmp: str | Path, **settings: object) -> dict[str, str]:
    """Environment for `flask --app wsgi worker` against `url`; settings as {"scheduler__tick_seconds": 0.2}."""
    env = {**os.environ, "AFTERCARE_DATABASE__URL": url, "AFTERCARE_CRM__WEBHOOK_SECRET": "whsec_bench",
           "AFTERCARE_SERVER__INSTANCE_DIR": str(Path(tmp) / "instance"), "AFTERCARE_LOGGING__LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("AFTERCARE_CONFIG", None)
    env.update({f"AFTERCARE_{key.upper()}": str(value) for key, value in settings.items()})
    return env


class Proc:
    """A child process whose stderr goes to a file we can wait on (a pipe could fill up and block it)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(list(argv), env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid

    def wait_for(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_path.read_text(errors="replace"):
                return
            if self.popen.poll() is not None:
                raise RuntimeError(f"process {self.pid} exited ({self.popen.returncode}):\n{self.tail()}")
            time.sleep(0.05)
        raise TimeoutError(f"process {self.pid} did not print {needle!r}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            os.kill(self.pid, signum)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait; SIGKILL only if it overstays."""
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)
        self._log.close()
        return self.popen.returncode

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.popen.wait(10)
        self._log.close()

    def rss_kib(self) -> int:
        return rss_kib(self.pid)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_worker(url: str, tmp: str | Path, name: str, **settings: object) -> Proc:
    proc = Proc([FLASK, "--app", "wsgi", "worker"], worker_env(url, tmp, **settings), Path(tmp) / f"{name}.log")
    return proc


# ---------------------------------------------------------------- figures

def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def utc_in(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)
