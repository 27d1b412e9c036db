"""`make run-prod`: gunicorn web workers plus N `flask --app wsgi worker` dispatchers, against PostgreSQL.

    python -m aftercare.supervisor [--workers N] [--bind 127.0.0.1:8000] [--web-workers M] [--no-migrate]

A small supervisor, not a process manager: it migrates, starts the processes, forwards SIGTERM/SIGINT to
all of them and waits for them to finish (web: in-flight requests; workers: the send in flight, then they
hand back their claims). It restarts nothing silently: if any child exits on its own, it says which and
how, stops the others and exits non-zero, so systemd/Kubernetes (whose job restarting is) can see it.
The web processes never run the scheduler (scheduler.enabled does not apply to gunicorn: only
`flask serve` and `flask worker` start it).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _say(message: str) -> None:
    print(f"aftercare-supervisor: {message}", file=sys.stderr, flush=True)


def commands(*, workers: int, bind: str, web_workers: int | None) -> list[tuple[str, list[str]]]:
    web = [str(BIN / "gunicorn"), "-c", str(ROOT / "config" / "gunicorn.conf.py"), "--bind", bind]
    if web_workers:
        web += ["--workers", str(web_workers)]
    return [("web", web + ["wsgi:app"])] + [(f"worker-{i + 1}", [str(BIN / "flask"), "--app", "wsgi", "worker"])
                                             for i in range(workers)]


def database_url() -> str:
    return load_settings().database.url


def run(*, workers: int, bind: str, web_workers: int | None, migrate: bool, grace: float = 30.0) -> int:
    url = database_url()
    if not url.startswith("postgresql"):
        _say(f"warning: database.url is {url.split(':', 1)[0]}; production means PostgreSQL "
             "(AFTERCARE_DATABASE__URL=postgresql+psycopg://…) — several processes on SQLite take turns")
    if migrate:
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, check=True)
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def _forward(signum, _frame):
        nonlocal stopping
        stopping = True
        _say(f"{signal.Signals(signum).name}: stopping {len(children)} processes")
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    for name, argv in commands(workers=workers, bind=bind, web_workers=web_workers):
        children[name] = subprocess.Popen(argv, cwd=ROOT)
        _say(f"started {name} (pid {children[name].pid}): {' '.join(argv[-3:])}")
    code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                _say(f"{name} (pid {child.pid}) exited with {child.returncode}; not restarting it: stopping the rest")
                code = child.returncode or 1
                _forward(signal.SIGTERM, None)
                break
        time.sleep(0.5)
    deadline = time.monotonic() + grace
    for name, child in children.items():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"{name} (pid {child.pid}) still running after {grace:.0f} s: SIGKILL (its leases expire)")
            child.kill()
            child.wait()
            code = code or 1
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aftercare.supervisor", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("AFTERCARE_WORKERS", "2")),
                        help="dispatcher processes (default 2, or AFTERCARE_WORKERS)")
    parser.add_argument("--bind", default=os.environ.get("AFTERCARE_BIND", "127.0.0.1:8000"))
    parser.add_argument("--web-workers", type=int, default=None,
                        help="gunicorn workers (default: WEB_CONCURRENCY or 2 × cores, see config/gunicorn.conf.py)")
    parser.add_argument("--no-migrate", action="store_true", help="skip `flask db upgrade` before starting")
    args = parser.parse_args(argv)
    return run(workers=args.workers, bind=args.bind, web_workers=args.web_workers, migrate=not args.no_migrate)


if __name__ == "__main__":
    sys.exit(main())
