"""gunicorn settings for `gunicorn -c config/gunicorn.conf.py wsgi:app` (used by `make run-prod`).

Each web worker builds its own app (no preload: engines and pools are never shared across a fork) and
never starts APScheduler: `create_app` does not, and only `flask --app wsgi serve|worker` do. Dispatch runs
in separate `flask --app wsgi worker` processes. Every knob can be set from the environment.
"""
from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)



bind = os.environ.get("AFTERCARE_BIND", "127.0.0.1:8000")
# 2 × cores: the intake is a short CPU + database round trip per request; more processes than that only
# add context switches on a small box. WEB_CONCURRENCY is the name Heroku-style platforms set.
workers = _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count())
threads = _int("AFTERCARE_WEB_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
preload_app = False
timeout = _int("AFTERCARE_WEB_TIMEOUT", 30)  # a worker silent this long is killed and replaced
graceful_timeout = _int("AFTERCARE_WEB_GRACEFUL_TIMEOUT", 20)  # SIGTERM: finish in-flight requests
keepalive = _int("AFTERCARE_WEB_KEEPALIVE", 5)
backlog = _int("AFTERCARE_WEB_BACKLOG", 2048)
max_requests = _int("AFTERCARE_WEB_MAX_REQUESTS", 0)  # 0 = never recycle
max_requests_jitter = _int("AFTERCARE_WEB_MAX_REQUESTS_JITTER", 0)
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Application logs are structured JSON already (aftercare.logs); gunicorn's access log is off unless asked
# for, and then it is JSON too. Request ids come back in X-Request-Id.
accesslog = os.environ.get("AFTERCARE_ACCESS_LOG") or None
access_log_format = ('{"time": "%(t)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
                     '"status": %(s)s, "bytes": "%(B)s", "duration_us": %(D)s, "request_id": "%({x-request-id}o)s"}')
errorlog = "-"
loglevel = os.environ.get("AFTERCARE_WEB_LOG_LEVEL", "warning")
proc_name = "aftercare-web"
