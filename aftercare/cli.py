"""`flask --app wsgi ...` commands: db upgrade, keys create, serve, worker, demo, followup classify."""
from __future__ import annotations

import json
import signal
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from aftercare import migrate


def register_cli(app: Flask) -> None:
    db = AppGroup("db", help="Database migrations.")
    keys = AppGroup("keys", help="API keys.")
    followup = AppGroup("followup", help="Follow-up tools.")

    @db.command("upgrade")
    @click.option("--revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Migrate the configured database to the latest schema."""
        migrate.upgrade(app.extensions["aftercare"].settings.database.url, revision)
        click.echo(f"database at {revision}")

    @keys.command("create")
    @click.option("--scope", "scopes", multiple=True, required=True, help="crm, agent, manager or read")
    @click.option("--name", default="cli", help="Who the key is for (shown in audit trails).")
    def keys_create(scopes: tuple[str, ...], name: str) -> None:
        """Create an API key; the key alone is printed on the last line."""
        from aftercare.auth import create_api_key

        rt = app.extensions["aftercare"]
        with rt.db.session() as session:
            try:
                key = create_api_key(session=session, name=name, scopes=list(scopes))
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--scope") from exc
        click.echo(f"created a key with scope(s) {', '.join(scopes)} for {name!r}; it is shown only once:", err=True)
        click.echo(key)

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    def serve(host: str, port: int) -> None:
        """Development server: prints the dev credentials, runs the in-process scheduler when enabled."""
        from werkzeug.serving import run_simple

        from aftercare.devserver import ensure_dev_credentials
        from aftercare.scheduler import start_scheduler

        creds = ensure_dev_credentials(app)
        click.echo(f"CRM webhook secret: {creds['crm_webhook_secret']}")
        click.echo(f"manager API key:    {creds['manager_api_key']}")
        click.echo(f"(kept in {creds['path']}; channels are console simulations unless configured)")
        if app.extensions["aftercare"].settings.scheduler.enabled:
            start_scheduler(app)
        run_simple(host, port, app, threaded=True, use_reloader=False)

    @app.cli.command("worker")
    def worker() -> None:
        """A separate dispatcher process: ticks every second until SIGTERM/SIGINT."""
        from aftercare.scheduler import start_scheduler

        def _stop(_signum, _frame):
            scheduler = app.extensions["aftercare"].scheduler
            if scheduler is not None:
                scheduler.shutdown(wait=True)

        signal.signal(signal.SIGTERM, _stop)
        click.echo("worker: dispatching due check-ins every tick (Ctrl-C to stop)", err=True)
        try:
            start_scheduler(app, blocking=True)
        except (KeyboardInterrupt, SystemExit):
            pass

    @app.cli.command("demo")
    def demo() -> None:
        """Play the whole follow-up story against a throwaway embedded database."""
        from aftercare.demo import play_story

        play_story(click.echo)

    @followup.command("classify")
    @click.argument("source", type=click.File("r", encoding="utf-8"))
    def classify(source) -> None:
        """JSON Lines in (field `text`), one JSON line out per input; `-` reads stdin."""
        from followup.understanding import classify_reply

        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                text = json.loads(line)["text"]
                if not isinstance(text, str):
                    raise TypeError("text must be a string")
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                click.echo(json.dumps({"line": number, "error": f"needs a JSON object with a string 'text': {exc}"}))
                continue
            click.echo(json.dumps(classify_reply(text).as_dict(), ensure_ascii=False))
        sys.stdout.flush()

    for group in (db, keys, followup):
        app.cli.add_command(group)
