"""intake queue: CRM events stored at the door and acted on by the workers (crm.intake_mode = "queued")

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db  # noqa: F401

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=16), server_default="processed", nullable=False))
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("case_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("customer_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("agent_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("lease_until", aftercare.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("processed_at", aftercare.core.db.UTCDateTime(), nullable=True))
    _queued_index("ix_webhook_events_queued", ["received_at", "event_id"])
    for key in KEYS:
        _queued_index(f"ix_webhook_events_queued_{key}", [key, "received_at", "event_id"])


KEYS = ("case_key", "customer_key", "agent_key")


def _queued_index(name: str, columns: list[str]) -> None:
    """Partial indexes over the (small) queued part; on PostgreSQL built CONCURRENTLY, so a large
    webhook_events table keeps taking webhooks while they build."""
    where = sa.text("state = 'queued'")
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(name, "webhook_events", columns, sqlite_where=where)
        return
    with op.get_context().autocommit_block():
        op.create_index(name, "webhook_events", columns, postgresql_where=where, postgresql_concurrently=True)


def downgrade() -> None:
    for key in KEYS:
        op.drop_index(f"ix_webhook_events_queued_{key}", table_name="webhook_events")
    op.drop_index("ix_webhook_events_queued", table_name="webhook_events")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_column("processed_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("agent_key")
        batch_op.drop_column("customer_key")
        batch_op.drop_column("case_key")
        batch_op.drop_column("payload")
        batch_op.drop_column("state")
