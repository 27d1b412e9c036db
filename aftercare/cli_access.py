"""Who may get in: `keys create | list | revoke` and `managers create | reset-password`.

Nothing here ever prints a key after `keys create` printed it once, nor a key's hash or a password.
"""
from __future__ import annotations

import sys
from datetime import datetime
from typing import Callable

import click
from flask import Flask
from flask.cli import AppGroup

from aftercare.auth import create_api_key, list_api_keys, revoke_api_key
from aftercare.managers import create_manager, reset_password

KEY_COLUMNS = ("id", "prefix", "name", "scopes", "agent", "created", "last used", "revoked")


def register_access_commands(app: Flask) -> None:
    keys = AppGroup("keys", help="API keys: create, list, revoke.")
    managers = AppGroup("managers", help="Managers who sign in to the dashboard.")

    @keys.command("create")
    @click.option("--scope", "scopes", multiple=True, required=True, help="crm, agent, manager or read")
    @click.option("--name", default="cli", help="Who the key is for (shown in audit trails).")
    @click.option("--agent", "agent_id", default=None,
                  help="Bind an agent key to this agent id: it may act only on /agents/<id>/… (a softphone).")
    def keys_create(scopes: tuple[str, ...], name: str, agent_id: str | None) -> None:
        """Create an API key; the key alone is printed on the last line."""
        rt = app.extensions["aftercare"]
        with rt.db.session() as session:
            try:
                key = create_api_key(session=session, name=name, scopes=list(scopes), agent_id=agent_id)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--agent" if agent_id else "--scope") from exc
        bound = f", bound to agent {agent_id!r}" if agent_id else ""
        click.echo(f"created a key with scope(s) {', '.join(scopes)} for {name!r}{bound}; it is shown only once:",
                   err=True)
        click.echo(key)

    @keys.command("list")
    def keys_list() -> None:
        """Every key, revoked ones included: id, prefix, name, scopes, bound agent, created, last used (to the
        hour), revoked. Never the key or its hash."""
        with app.extensions["aftercare"].db.session() as session:
            rows = [(key.id, key.prefix, key.name, ",".join(key.scopes or []), key.agent_id or "-",
                     _when(key.created_at), _when(key.last_used_at), _when(key.revoked_at))
                    for key in list_api_keys(session)]
        if not rows:
            click.echo("no API keys; create one with `keys create --scope …`")
            return
        widths = [max(len(str(cell)) for cell in column) for column in zip(KEY_COLUMNS, *rows)]
        for row in (KEY_COLUMNS, *rows):
            click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())

    @keys.command("revoke")
    @click.argument("ref", metavar="ID_OR_PREFIX")
    def keys_revoke(ref: str) -> None:
        """Revoke a key for good (it gets 401 from then on), named by its id or prefix as `keys list` shows them,
        or by the whole key if that is what leaked."""
        rt = app.extensions["aftercare"]
        with rt.db.session() as session:
            try:
                key, revoked = revoke_api_key(session, ref=ref, now=rt.clock())
            except LookupError as exc:
                raise click.ClickException(str(exc)) from exc
            verb = "revoked" if revoked else "was already revoked"
            click.echo(f"key {key.id} ({key.prefix}…, {key.name!r}) {verb} at {_when(key.revoked_at)}")

    def change_manager(password_stdin: bool, change: Callable) -> str:
        """Read the password once, run `change(session, password, now)`; its ValueError is the command's error."""
        password = _read_password(password_stdin)
        rt = app.extensions["aftercare"]
        with rt.db.session() as session:
            try:
                return change(session, password, rt.clock()).username
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc

    @managers.command("create")
    @_password_options
    def managers_create(username: str, password_stdin: bool) -> None:
        """Create a dashboard manager; the password is prompted for (hidden) or read from stdin."""
        name = change_manager(password_stdin, lambda session, password, now: create_manager(
            session=session, username=username, password=password, now=now))
        click.echo(f"created manager {name!r}; sign in at /dashboard/sign-in")

    @managers.command("reset-password")
    @_password_options
    def managers_reset_password(username: str, password_stdin: bool) -> None:
        """Set a manager's new password (same rules as `create`); signs them out everywhere and lifts a lockout."""
        name = change_manager(password_stdin, lambda session, password, _now: reset_password(
            session=session, username=username, password=password))
        click.echo(f"new password set for manager {name!r}; their open sessions are signed out")

    app.cli.add_command(keys)
    app.cli.add_command(managers)


def _password_options(command: Callable) -> Callable:
    command = click.option("--password-stdin", is_flag=True,
                           help="Read the password from stdin instead of prompting.")(command)
    return click.option("--username", required=True)(command)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%MZ") if moment else "-"
