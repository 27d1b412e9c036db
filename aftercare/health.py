"""Liveness, readiness (database reachable, migrations current) and the vendored Swagger UI assets."""
from __future__ import annotations

import swagger_ui_bundle
from flask import Blueprint as FlaskBlueprint, jsonify, send_from_directory
from flask_smorest import Blueprint
from sqlalchemy import text

from aftercare.core.outage import database_unreachable, outage_reason
from aftercare.core.problems import Problem
from aftercare.core.web import db_session
from aftercare.migrate import current_and_head

blp = Blueprint("health", __name__, description="Health and readiness")


@blp.route("/healthz")
@blp.doc(summary="Process is up", responses={"200": {"description": "Up", "content": {"application/json": {
    "schema": {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}}})
def healthz():
    return jsonify(status="ok")


@blp.route("/readyz")
@blp.doc(summary="Database reachable and migrations current", responses={
    "200": {"description": "Ready", "content": {"application/json": {"schema": {"type": "object", "properties": {
        "status": {"type": "string", "enum": ["ready"]}, "migration": {"type": ["string", "null"]}}}}}},
    "503": "SERVICE_UNAVAILABLE"})
def readyz():
    try:
        db_session().execute(text("SELECT 1"))
        current, head = current_and_head(db_session().connection())
    except Exception as exc:  # noqa: BLE001 - readiness reports any database failure as 503
        why = f"database unreachable: {outage_reason(exc)}" if database_unreachable(exc) else \
            f"database error: {type(exc).__name__}"
        raise Problem(503, "Not ready", why, kind="not-ready") from exc
    if current != head:
        raise Problem(503, "Not ready", f"migrations not current: at {current}, head is {head}", kind="not-ready")
    return jsonify(status="ready", migration=current)


assets = FlaskBlueprint("swagger_assets", __name__)


@assets.route("/static/swagger-ui/<path:filename>")
def swagger_assets(filename: str):
    """Swagger UI from the swagger-ui-bundle package, so /docs needs no CDN."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
