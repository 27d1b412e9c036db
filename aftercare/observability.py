"""Operations and API hardening: `/metrics` for Prometheus (access configurable), request metrics, and the
security headers every `/api` answer carries."""
from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from flask_smorest import Blueprint
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from aftercare.core.problems import Problem
from aftercare.core.signing import safe_equals
from aftercare.core.web import runtime
from config.settings import SettingsError

METRICS_ACCESS = ("public", "token", "off")
DOCS_ACCESS = ("public", "off")
API_PREFIX = "/api/"
API_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}

# Process-wide, like reopen_latency_seconds. Every label comes from a closed set, so the number of series stays
# bounded whatever clients send: the method if HTTP defines it (else "other"), the URL rule (a template, never the
# raw path; "unmatched" when no route matched, a 404 or a 405) and the status code our handlers chose.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
OTHER_METHOD, UNMATCHED_ROUTE = "other", "unmatched"
REQUESTS = Counter("http_requests_total", "HTTP requests answered", ("method", "route", "status"))
SPOOL_DEPTH = Gauge("aftercare_spool_depth", "Inbound replies in this machine's spool, waiting for the database",
                    multiprocess_mode="livemostrecent")
LATENCY = Histogram("http_request_duration_seconds", "Time to answer an HTTP request", ("method", "route"),
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

blp = Blueprint("observability", __name__, description="Prometheus metrics")


@blp.route("/metrics")
@blp.doc(summary="Prometheus metrics (text exposition format)", security=[{}, {"metricsToken": []}],
         description="`server.metrics_access`: `public` (anyone who reaches the port), `token` (send "
                     "`Authorization: Bearer <server.metrics_token>`) or `off` (the route does not exist). "
                     "Includes `reopen_latency_seconds`, `http_requests_total`, "
                     "`http_request_duration_seconds`, `aftercare_db_up` and `aftercare_spool_depth`.",
         responses={"200": {"description": "Current metrics",
                            "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": "UNAUTHORIZED"})
def metrics():
    server = runtime().settings.server
    if server.metrics_access == "token" and not _token_ok(server.metrics_token.reveal()):
        raise Problem(401, "Unauthorized", "Send the metrics token as 'Authorization: Bearer <token>'.",
                      kind="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    SPOOL_DEPTH.set(runtime().services["spool"].depth())
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Cache-Control": "no-store"})


def _token_ok(expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    presented = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return bool(expected) and safe_equals(presented, expected)


def _registry():
    """Under gunicorn with PROMETHEUS_MULTIPROC_DIR set, aggregate every worker's samples."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def check_settings(server) -> None:
    """Refuse to start with an access mode that would silently expose or lock out an endpoint."""
    if server.metrics_access not in METRICS_ACCESS:
        raise SettingsError(f"server.metrics_access must be one of {', '.join(METRICS_ACCESS)}")
    if server.docs_access not in DOCS_ACCESS:
        raise SettingsError(f"server.docs_access must be one of {', '.join(DOCS_ACCESS)}")
    if server.metrics_access == "token" and not server.metrics_token:
        raise SettingsError("server.metrics_access = \"token\" needs server.metrics_token")


def metric_labels(method: str, url_rule) -> tuple[str, str]:
    """(method, route) labels from closed sets: a client's made-up method or path never becomes a new series."""
    return (method if method in KNOWN_METHODS else OTHER_METHOD,
            url_rule.rule if url_rule is not None else UNMATCHED_ROUTE)


def init_app(app: Flask, api) -> None:
    """Register /metrics (unless off) and the request hooks: timing, counting and API security headers."""
    server = app.extensions["aftercare"].settings.server
    if server.metrics_access != "off":
        api.register_blueprint(blp)

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        method, route = metric_labels(request.method, request.url_rule)
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        if request.path.startswith(API_PREFIX):
            for key, value in API_HEADERS.items():
                response.headers[key] = value
        return response
