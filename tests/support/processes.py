"""The service as subprocesses for the tests that crash or cut it off (crash safety, the outage drill): gunicorn in
its own process group, a throwaway table state, state counts. Workers: `bench._common.Proc`."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]


def empty_tables(engine) -> None:
    from aftercare.model_registry import metadata

    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def count_states(engine, model) -> Counter:
    with engine.connect() as conn:
        return Counter(dict(conn.execute(select(model.state, func.count()).group_by(model.state)).all()))


class Gunicorn:
    """gunicorn in its own process group, so a SIGKILL takes master and workers down together (a crash)."""

    def __init__(self, env: dict, port: int, log: Path, workers: int = 2) -> None:
        self.env, self.port, self.log, self.workers = env, port, log, workers
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "config" / "gunicorn.conf.py"),
                 "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise TimeoutError(self.log.read_text()[-3000:])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def crash(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode if self.proc else None
