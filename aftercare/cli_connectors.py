"""`flask --app wsgi connectors check [DESK]`: call each desk's API with the configured credentials, say what works
and what does not, and print what to paste into the desk's admin (URL, secret, events)."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from intake.connectors import DESKS

MARKS = {True: "ok  ", False: "FAIL", None: "    "}


def register_connector_commands(app: Flask) -> None:
    connectors = AppGroup("connectors", help="Native help-desk connectors (docs/<desk>.md).")

    @connectors.command("check")
    @click.argument("desk", required=False, type=click.Choice(DESKS))
    def check(desk: str | None) -> None:
        """Check DESK (or every desk) against its API and print what to paste into its admin."""
        rt = app.extensions["aftercare"]
        failed = False
        for name in [desk] if desk else DESKS:
            connector = rt.services["desks"][name]
            click.echo(f"== {name} ==")
            for line in connector.check():
                failed |= line.ok is False
                click.echo(f"  {MARKS[line.ok]} {line.text}")
            click.echo("  Paste into the desk:")
            for line in connector.paste(rt.settings.server.public_base_url):
                click.echo(f"    {line}")
        sys.stdout.flush()
        if failed:
            raise SystemExit(1)

    app.cli.add_command(connectors)
