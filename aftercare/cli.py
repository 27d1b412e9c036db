"""`flask --app wsgi ...` commands: db upgrade, serve, worker, demo, followup classify, retention purge, whatsapp
templates sync (keys and managers: `aftercare.cli_access`; help-desk connectors: `aftercare.cli_connectors`; the
reply spool: `aftercare.cli_spool`)."""
from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import datetime, timezone
from typing import Callable

import click
from flask import Flask
from flask.cli import AppGroup
from werkzeug.serving import run_simple

from aftercare import devserver, migrate, scheduler
from aftercare.cli_access import register_access_commands
from aftercare.cli_connectors import register_connector_commands
from aftercare.cli_spool import register_spool_commands
from aftercare.core.leased_queue import worker_name
from aftercare.core.outage import database_unreachable
from aftercare.demo import play_story
from aftercare.demo_history import seed_history
from aftercare.retention import purge
from followup import services as followup_services


def register_cli(app: Flask, create_app: Callable[..., Flask]) -> None:
    """The app's commands; `create_app` is the factory, for the demo's throwaway app."""
    db = AppGroup("db", help="Database migrations.")
    followup = AppGroup("followup", help="Follow-up tools.")
    retention = AppGroup("retention", help="Data retention.")
    whatsapp = AppGroup("whatsapp", help="WhatsApp check-ins through Twilio.")

    @db.command("upgrade")
    @click.option("--revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Migrate the configured database to the latest schema."""
        migrate.upgrade(app.extensions["aftercare"].settings.database.url, revision)
        click.echo(f"database at {revision}")

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    def serve(host: str, port: int) -> None:
        """Development server: prints the dev credentials, runs the in-process scheduler when enabled."""
        creds = devserver.ensure_dev_credentials(app)
        click.echo(f"CRM webhook secret: {creds['crm_webhook_secret']}")
        click.echo(f"manager API key:    {creds['manager_api_key']}")
        click.echo(f"(kept in {creds['path']}; channels are console simulations unless configured)")
        devserver.start_dispatcher(app)
        run_simple(host, port, app, threaded=True, use_reloader=False)

    @app.cli.command("worker")
    def worker() -> None:
        """A separate dispatcher process: ticks until SIGTERM/SIGINT, then finishes the send in flight,
        hands back what it claimed but never started, and exits."""
        rt = app.extensions["aftercare"]
        stopping = threading.Event()

        def _stop(_signum, _frame):
            stopping.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        click.echo(f"worker {worker_name()}: dispatching due check-ins every tick (SIGTERM or Ctrl-C stops)", err=True)
        ticking = scheduler.start_scheduler(app, stopping=stopping.is_set)
        while not stopping.wait(3600):
            pass
        ticking.shutdown(wait=True)  # the in-flight tick sees `stopping` and returns after its current send
        try:
            released = followup_services.release_claims(rt.db, worker=worker_name())
            handed_back = f"{released} claimed check-ins handed back"
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            handed_back = "the database is unreachable: its claims are taken up when their leases run out"
        rt.db.dispose()
        click.echo(f"worker {worker_name()}: stopped; {handed_back}", err=True)

    @app.cli.command("demo")
    @click.option("--days", type=click.IntRange(1, 90), default=None,
                  help="Fill the CONFIGURED database with a realistic N-day history instead of the throwaway story.")
    @click.option("--seed", type=int, default=None, help="Random seed for --days (default: a new history each run).")
    @click.option("--until", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z"]), default=None,
                  help="End the --days history at this UTC instant instead of now (with --seed: the same history "
                       "whatever the time of day it is run).")
    def demo(days: int | None, seed: int | None, until: datetime | None) -> None:
        """Play the whole follow-up story against a throwaway embedded database (or seed N days with --days)."""
        if days:
            end = None if until is None else (until.replace(tzinfo=timezone.utc) if until.tzinfo is None
                                              else until.astimezone(timezone.utc))
            seed_history(app, days=days, seed=seed, say=click.echo, now=end)
        else:
            play_story(create_app, click.echo)

    @followup.command("classify")
    @click.argument("source", type=click.File("r", encoding="utf-8"))
    def classify(source) -> None:
        """JSON Lines in (field `text`; optional `locale`, `channel`, `question`), one JSON line out per input
        (intent, confidence, reasons, language); `-` reads stdin. followup.understanding.min_confidence applies."""
        min_confidence = app.extensions["aftercare"].settings.followup.understanding.min_confidence
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["text"]
                hints = {k: row.get(k) for k in ("locale", "channel", "question")}
                if not isinstance(text, str) or not all(v is None or isinstance(v, str) for v in hints.values()):
                    raise TypeError("text (and locale, channel, question if given) must be strings")
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                click.echo(json.dumps({"line": number, "error": f"needs a JSON object with a string 'text': {exc}"}))
                continue
            context = followup_services.ReplyContext(**hints, min_confidence=min_confidence)
            click.echo(json.dumps(followup_services.classify_reply(text, context).as_dict(), ensure_ascii=False))
        sys.stdout.flush()

    @retention.command("purge")
    @click.option("--days", type=click.IntRange(min=1), default=None, help="Override retention.days.")
    @click.option("--dry-run", is_flag=True, help="Only count what would be purged.")
    def retention_purge(days: int | None, dry_run: bool) -> None:
        """Purge message bodies and contact details of cases closed more than retention.days ago."""
        rt = app.extensions["aftercare"]
        report = purge(rt.db, now=rt.clock(), days=days or rt.settings.retention.days, dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"
        click.echo(f"{'dry run: ' if dry_run else ''}{verb} {report.cases} closed case(s) older than "
                   f"{report.cutoff.isoformat()}")
        for name, count in report.as_dict().items():
            if name not in ("cutoff", "dry_run", "cases"):
                click.echo(f"  {name}: {count}")

    @whatsapp.group("templates")
    def whatsapp_templates() -> None:
        """The check-in templates in Twilio's Content API."""

    @whatsapp_templates.command("sync")
    @click.option("--locale", "locales", multiple=True,
                  help="Only these locales (default: every locale in config/templates).")
    def whatsapp_templates_sync(locales: tuple[str, ...]) -> None:
        """Create the check-in template of each locale (body with variables, buttons `resolved` and `reopen`) in
        Twilio's Content API, request WhatsApp approval (category UTILITY), and print each SID and approval status."""
        known = followup_services.whatsapp_template_locales()
        unknown = sorted(set(locales) - set(known))
        if unknown:
            raise click.BadParameter(f"no check-in template for {', '.join(unknown)}; known: {', '.join(known)}",
                                     param_hint="--locale")
        try:
            synced = followup_services.sync_whatsapp_templates(app.extensions["aftercare"].settings,
                                                               list(locales) or None)
        except followup_services.ContentSyncError as exc:
            raise click.ClickException(str(exc)) from exc
        for t in synced:
            click.echo(f"{t.locale:<6} {t.name:<24} {t.sid}  {'created' if t.created else 'exists '}  "
                       f"approval: {t.approval}" + (f"  ({t.note})" if t.note else ""))
        click.echo("\n# config (AFTERCARE_CONFIG file); a locale is used once its approval is `approved`:")
        click.echo("[whatsapp.templates]")
        for t in synced:
            click.echo(f'{t.locale} = {{ checkin = "{t.sid}" }}')

    for group in (db, followup, retention, whatsapp):
        app.cli.add_command(group)
    register_access_commands(app)
    register_connector_commands(app)
    register_spool_commands(app)
