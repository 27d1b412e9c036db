"""api_keys.last_used_at (issue 11): `keys list` shows when a key was last used, to the hour, before it is revoked

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", aftercare.core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
