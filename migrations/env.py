"""Alembic environment: our metadata, the URL from aftercare settings (passed in by aftercare.migrate)."""
from alembic import context

from aftercare.core.db import make_engine
from aftercare.model_registry import metadata

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
