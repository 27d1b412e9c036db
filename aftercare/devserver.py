"""The development server's conveniences: dev-only credentials kept under instance/ (so a restart of `make run`
keeps them), and the in-process dispatcher started once for `flask run` as for `flask serve`.

Why `flask run` too: it is every Flask user's habit, and without a dispatcher check-ins would stay `scheduled`
forever with nothing in the log saying why.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import click
from flask import Flask
from werkzeug.serving import is_running_from_reloader

from aftercare import scheduler
from aftercare.auth import create_api_key
from config.settings import Settings

DEV_CREDENTIALS = "dev-credentials.json"


def with_dev_secrets(settings: Settings) -> Settings:
    """With no CRM secret or dashboard key configured, use (or make) dev ones under instance/ so restarts keep them."""
    creds = load_dev_credentials(settings)
    made = {}
    if not settings.crm.webhook_secret:
        made["crm_webhook_secret"] = creds.get("crm_webhook_secret") or "whsec_" + secrets.token_urlsafe(24)
        settings = settings.replace("crm", webhook_secret=made["crm_webhook_secret"])
    if not settings.dashboard.secret_key:
        made["dashboard_secret_key"] = creds.get("dashboard_secret_key") or secrets.token_urlsafe(32)
        settings = settings.replace("dashboard", secret_key=made["dashboard_secret_key"])
    if any(creds.get(key) != value for key, value in made.items()):
        save_dev_credentials(settings, {**creds, **made})
    return settings


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


def ensure_dev_credentials(app: Flask) -> dict:
    rt = app.extensions["aftercare"]
    creds = load_dev_credentials(rt.settings)
    if "manager_api_key" not in creds:
        with rt.db.session() as session:
            creds["manager_api_key"] = create_api_key(session=session, name="dev manager", scopes=["manager"])
    creds.setdefault("crm_webhook_secret", rt.settings.crm.webhook_secret.reveal())
    save_dev_credentials(rt.settings, creds)
    return {**creds, "path": str(dev_credentials_path(rt.settings))}


def start_dispatcher(app: Flask) -> None:
    """The in-process tick (when `scheduler.enabled`), and one line saying who dispatches."""
    rt = app.extensions["aftercare"]
    channels = ", ".join(sorted({channel.name for channel in rt.services["channels"].values()}))
    if rt.settings.scheduler.enabled:
        scheduler.start_scheduler(app)
        click.echo(f"dispatcher: in this process, every {rt.settings.scheduler.tick_seconds:g} s "
                   f"(channels: {channels}; console = printed, not sent)", err=True)
    else:
        click.echo("dispatcher: not in this process (scheduler.enabled = false): run `flask --app wsgi worker`, "
                   "or check-ins stay scheduled", err=True)


def start_dispatcher_under_flask_run(app: Flask) -> None:
    """`flask run` serves the app it just loaded: start the dispatcher there, once. With the reloader, only the
    child process serves (the parent only watches files), so only it starts one."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run" or getattr(ctx.command, "name", None) != "run":
        return
    reloading = ctx.params.get("reload")
    if reloading is None:
        reloading = app.debug
    if reloading and not is_running_from_reloader():
        return
    start_dispatcher(app)
