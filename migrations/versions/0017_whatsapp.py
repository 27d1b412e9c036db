"""whatsapp: consent per customer, what a check-in's text was written from (template variables), the template-only
flag a 63016 sets, read receipts, and channel_contacts (last inbound message per address: the 24-hour window)

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("consent_whatsapp", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("checkins") as batch:
        batch.add_column(sa.Column("template_fields", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("needs_template", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("read_at", aftercare.core.db.UTCDateTime(), nullable=True))
    op.create_table(
        "channel_contacts",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("profile_name", sa.String(length=200), nullable=True),
        sa.Column("provider_user_id", sa.String(length=64), nullable=True),
        sa.Column("last_inbound_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_channel_contacts")),
    )


def downgrade() -> None:
    op.drop_table("channel_contacts")
    with op.batch_alter_table("checkins") as batch:
        batch.drop_column("read_at")
        batch.drop_column("needs_template")
        batch.drop_column("template_fields")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("consent_whatsapp")
