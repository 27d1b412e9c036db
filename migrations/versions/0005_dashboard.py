"""dashboard: managers and sign-in

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import aftercare.db  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
