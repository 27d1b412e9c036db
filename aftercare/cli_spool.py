"""`flask --app wsgi spool list | replay`: the replies this machine kept while the database was unreachable.

The tick replays the spool by itself once the database is back; these are for looking at it, and for replaying
where no worker runs (a web-only machine) or after a set-aside entry's cause is fixed.
"""
from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

from aftercare.core.outage import database_unreachable, outage_reason
from followup import services as followup


def register_spool_commands(app: Flask) -> None:
    spool = AppGroup("spool", help="Replies kept on disk while the database was unreachable.")

    @spool.command("list")
    def spool_list() -> None:
        """One JSON line per entry waiting to be replayed (oldest first), then per entry set aside; senders masked
        as in the logs."""
        kept = app.extensions["aftercare"].services["spool"]
        waiting, aside = kept.pending(), kept.set_aside()
        click.echo(f"spool {kept.directory}: {len(waiting)} waiting, {len(aside)} set aside", err=True)
        for entry in waiting:
            click.echo(json.dumps(followup.describe_entry(entry)))
        for entry in aside:
            click.echo(json.dumps({**followup.describe_entry(entry), "set_aside": True}))

    @spool.command("replay")
    @click.option("--set-aside", "requeue", is_flag=True,
                  help="Put the set-aside entries back in line first (once whatever failed them is fixed).")
    def spool_replay(requeue: bool) -> None:
        """Replay now, in arrival order; a reply already stored is not stored twice."""
        rt = app.extensions["aftercare"]
        kept = rt.services["spool"]
        if requeue:
            click.echo(f"{kept.requeue_set_aside()} set-aside entries put back in line", err=True)
        try:
            report = followup.replay_spool(rt.db, kept, crm=rt.services["crm"], ctx=rt.followup)
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            raise click.ClickException(f"the database is still unreachable ({outage_reason(exc)}); "
                                       f"{kept.depth()} entries wait; nothing was lost") from exc
        if report.busy:
            raise click.ClickException("another process (a worker's tick) is replaying the spool right now")
        click.echo(f"replayed: {report.replayed} stored, {report.duplicates} already stored, "
                   f"{report.set_aside} set aside; {kept.depth()} waiting")

    app.cli.add_command(spool)
