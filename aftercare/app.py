"""The application factory: settings, database, channels and blueprints wired per app, nothing at import time."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from flask import Flask, g, request
from flask_smorest import Api

import wellbeing.services as wellbeing
from aftercare import auth, devserver, health, observability, outcomes_views
from aftercare.cli import register_cli
from aftercare.core.bodies import BoundedBodies
from aftercare.core.clock import utcnow
from aftercare.core.db import Database
from aftercare.core.logs import configure_logging
from aftercare.core.spool import Spool
from aftercare.core.web import RUNTIME, close_db_session
from aftercare.dashboard import CookieOnlyWhenSentSessions, session_config, views as dashboard_views
from aftercare.errors import ProblemApi, ProblemResponsesPlugin, register_error_handlers
from config.settings import Settings, SettingsError, load_settings
from followup import services as followup
from intake import desk_views, views as intake_views
from intake.connectors import build_connectors


@dataclass
class Runtime:
    """What one app owns: settings, database, channel adapters, CRM adapter, the reply spool and the clock."""

    settings: Settings
    db: Database
    clock: Callable[[], datetime] = utcnow
    services: dict[str, Any] = field(default_factory=dict)
    scheduler: Any = None
    _followup: Any = field(default=None, repr=False)

    @property
    def followup(self):
        """followup's context (policies built from settings) made once, and again only if settings are swapped."""
        if self._followup is None or self._followup.settings is not self.settings:
            self._followup = followup.FollowupContext(self.settings)
        return self._followup


def create_app(config: Settings | Mapping[str, Mapping[str, Any]] | None = None) -> Flask:
    settings = config if isinstance(config, Settings) else load_settings(config)
    configure_logging(settings.logging.level, settings.logging.json)
    settings = devserver.with_dev_secrets(settings)
    observability.check_settings(settings.server)
    if settings.crm.intake_mode not in ("inline", "queued"):
        raise SettingsError('crm.intake_mode must be "inline" or "queued"')
    if settings.crm.intake_apply not in ("batched", "per_event"):
        raise SettingsError('crm.intake_apply must be "batched" or "per_event"')
    app = Flask(__name__, instance_path=str(Path(settings.server.instance_dir).resolve()))
    app.config.update(
        MAX_CONTENT_LENGTH=settings.server.max_body_bytes,
        API_TITLE="Aftercare", API_VERSION="v1", OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/" if settings.server.docs_access == "public" else None, OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",
        JSON_SORT_KEYS=False,
    )
    app.wsgi_app = BoundedBodies(app.wsgi_app, settings.server.max_body_bytes)  # chunked bodies too
    app.config.update(session_config(settings))
    app.session_interface = CookieOnlyWhenSentSessions()
    rt = Runtime(settings=settings, db=Database(settings.database.url, echo=settings.database.echo))
    app.extensions[RUNTIME] = rt
    auth.init_app(app)
    _wire_services(rt)
    api = ProblemApi(app, spec_kwargs={"extra_plugins": [ProblemResponsesPlugin()],
                                       "components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"},
        "crmSignature": {"type": "apiKey", "in": "header", "name": "Aftercare-Signature"},
        "zendeskSignature": {"type": "apiKey", "in": "header", "name": "X-Zendesk-Webhook-Signature"},
        "chatwootSignature": {"type": "apiKey", "in": "header", "name": "X-Chatwoot-Signature"},
        "hubSignature": {"type": "apiKey", "in": "header", "name": "X-Hub-Signature",
                         "description": "Intercom (intercom.client_secret) and Zammad (zammad.webhook_secret)"},
        "freshdeskBasic": {"type": "http", "scheme": "basic",
                           "description": "freshdesk.webhook_user / freshdesk.webhook_password"},
        "twilioSignature": {"type": "apiKey", "in": "header", "name": "X-Twilio-Signature"},
        "sendgridInbound": {"type": "http", "scheme": "basic",
                            "description": "or the URL secret as ?key=<sendgrid.inbound_url_secret>"},
        "sendgridEventSignature": {"type": "apiKey", "in": "header",
                                   "name": "X-Twilio-Email-Event-Webhook-Signature"},
        "metricsToken": {"type": "http", "scheme": "bearer", "description": "server.metrics_token"}}}})
    register_error_handlers(app)
    _register_blueprints(api)
    observability.init_app(app, api)
    _request_hooks(app)
    register_cli(app, create_app)
    devserver.start_dispatcher_under_flask_run(app)
    return app


def spool_dir(settings: Settings) -> Path:
    """`server.spool_dir`, or `spool/` in the instance folder."""
    return Path(settings.server.spool_dir or Path(settings.server.instance_dir) / "spool")


def _wire_services(rt: Runtime) -> None:
    rt.services["spool"] = Spool(spool_dir(rt.settings))
    rt.services["channels"] = followup.build_channels(rt.settings)
    rt.services["crm"] = followup.build_crm_adapter(rt.settings)
    rt.services["crm_adapters"] = followup.CrmAdapters(rt.settings, rt.services["crm"])
    rt.services["desks"] = build_connectors(rt.settings)
    rt.services["routing"] = wellbeing.build_routing_adapter(rt.settings)
    wellbeing.bind(rt.db.sessions, rt.settings, routing=rt.services["routing"])


def _register_blueprints(api: Api) -> None:
    for blueprint in (health.blp, intake_views.blp, desk_views.blp, *followup.blueprints(), *wellbeing.blueprints(),
                      outcomes_views.blp):
        api.register_blueprint(blueprint)
    api._app.register_blueprint(health.assets)
    api._app.register_blueprint(desk_views.url_checks)
    api._app.register_blueprint(dashboard_views.bp)


# A caller's own X-Request-Id is kept only when it is short and plain: it is echoed and written to every log line.
CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_for(sent: str | None) -> str:
    """The caller's id if it fits CALLER_REQUEST_ID, else a new one (never an echo of 1 MB or of log syntax)."""
    if sent and CALLER_REQUEST_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex[:16]


def _request_hooks(app: Flask) -> None:
    @app.before_request
    def _request_id():
        g.request_id = request_id_for(request.headers.get("X-Request-Id"))

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    app.teardown_appcontext(close_db_session)
