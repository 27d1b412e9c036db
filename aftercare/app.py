"""The application factory: settings, database, channels and blueprints wired per app, nothing at import time."""
from __future__ import annotations

import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from flask import Flask, g, request
from flask_smorest import Api

from aftercare import auth
from aftercare.core.clock import utcnow
from aftercare.core.db import Database
from aftercare.core.web import RUNTIME, close_db_session
from aftercare.core.bodies import BoundedBodies
from aftercare.errors import ProblemApi, ProblemResponsesPlugin, register_error_handlers
from aftercare.core.logs import configure_logging
from config.settings import Settings, load_settings

DEV_CREDENTIALS = "dev-credentials.json"


@dataclass
class Runtime:
    """What one app owns: settings, database, channel adapters, CRM adapter and the clock."""

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
            from followup.services import FollowupContext

            self._followup = FollowupContext(self.settings)
        return self._followup


def create_app(config: Settings | Mapping[str, Mapping[str, Any]] | None = None) -> Flask:
    settings = config if isinstance(config, Settings) else load_settings(config)
    configure_logging(settings.logging.level, settings.logging.json)
    settings = _with_dev_secret(settings)
    settings = _with_dev_dashboard_key(settings)
    from aftercare import observability

    observability.check_settings(settings.server)
    if settings.crm.intake_mode not in ("inline", "queued"):
        from config.settings import SettingsError

        raise SettingsError('crm.intake_mode must be "inline" or "queued"')
    app = Flask(__name__, instance_path=str(Path(settings.server.instance_dir).resolve()))
    app.config.update(
        MAX_CONTENT_LENGTH=settings.server.max_body_bytes,
        API_TITLE="Aftercare", API_VERSION="v1", OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/" if settings.server.docs_access == "public" else None, OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",
        JSON_SORT_KEYS=False,
    )
    app.wsgi_app = BoundedBodies(app.wsgi_app, settings.server.max_body_bytes)  # chunked bodies too
    from aftercare.dashboard import CookieOnlyWhenSentSessions, session_config

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
    from aftercare.cli import register_cli

    register_cli(app)
    return app


def _wire_services(rt: Runtime) -> None:
    from followup.channels import build_channels
    from followup.crm import build_crm_adapter

    rt.services["channels"] = build_channels(rt.settings)
    rt.services["crm"] = build_crm_adapter(rt.settings)
    from wellbeing.routing import build_routing_adapter
    from wellbeing.services import bind

    rt.services["routing"] = build_routing_adapter(rt.settings)
    bind(rt.db.sessions, rt.settings, routing=rt.services["routing"])


def _register_blueprints(api: Api) -> None:
    from aftercare.health import assets, blp as health
    from aftercare.dashboard.views import bp as dashboard
    from intake.views import blp as intake
    from aftercare.outcomes_views import blp as metrics
    from followup.crm.views import blp as crm_outbox
    from followup.views import blp as followup
    from followup.webhook_views import blp as provider_webhooks
    from wellbeing.views import BLUEPRINTS as wellbeing

    for blueprint in (health, intake, followup, provider_webhooks, crm_outbox, *wellbeing, metrics):
        api.register_blueprint(blueprint)
    api._app.register_blueprint(assets)
    api._app.register_blueprint(dashboard)


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


def _with_dev_secret(settings: Settings) -> Settings:
    """With no CRM secret configured, use (or make) a dev one under instance/ so restarts keep it."""
    if settings.crm.webhook_secret:
        return settings
    creds = load_dev_credentials(settings)
    if "crm_webhook_secret" not in creds:
        creds["crm_webhook_secret"] = "whsec_" + secrets.token_urlsafe(24)
        save_dev_credentials(settings, creds)
    return settings.replace("crm", webhook_secret=creds["crm_webhook_secret"])


def _with_dev_dashboard_key(settings: Settings) -> Settings:
    """With no dashboard secret key configured, use (or make) a dev one under instance/, like the CRM secret."""
    if settings.dashboard.secret_key:
        return settings
    creds = load_dev_credentials(settings)
    if "dashboard_secret_key" not in creds:
        creds["dashboard_secret_key"] = secrets.token_urlsafe(32)
        save_dev_credentials(settings, creds)
    return settings.replace("dashboard", secret_key=creds["dashboard_secret_key"])


def dev_credentials_path(settings: Settings) -> Path:
    return Path(settings.server.instance_dir) / DEV_CREDENTIALS


def load_dev_credentials(settings: Settings) -> dict:
    path = dev_credentials_path(settings)
    return json.loads(path.read_text()) if path.exists() else {}


def save_dev_credentials(settings: Settings, creds: dict) -> None:
    path = dev_credentials_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(creds, indent=2))
    path.chmod(0o600)
