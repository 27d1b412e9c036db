"""channels: provider state, inbound email tokens, rate limits

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkins") as batch:
        batch.add_column(sa.Column("send_started_at", aftercare.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("provider_message_id", sa.String(length=200), nullable=True))
        batch.create_unique_constraint("uq_replies_provider_message_id", ["provider_message_id"])
    op.create_table(
        "sender_slots",
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("next_free_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sender", name=op.f("pk_sender_slots")),
    )


def downgrade() -> None:
    op.drop_table("sender_slots")
    with op.batch_alter_table("replies") as batch:
        batch.drop_constraint("uq_replies_provider_message_id", type_="unique")
        batch.drop_column("provider_message_id")
    with op.batch_alter_table("checkins") as batch:
        batch.drop_column("send_started_at")
