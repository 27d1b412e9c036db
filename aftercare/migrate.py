"""Alembic driven from our settings: `flask --app wsgi db upgrade` and the readiness check."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def current_and_head(connection: Connection) -> tuple[str | None, str | None]:
    script = ScriptDirectory(str(MIGRATIONS))
    return MigrationContext.configure(connection).get_current_revision(), script.get_current_head()
