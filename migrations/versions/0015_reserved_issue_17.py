"""Issue 17 (wellbeing): agent_reports ("that one rattled me", a prompt until a manager has seen it) and the guard
that held back each break decision, with its figures, so the team load page can say why in plain words

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_reports",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("interaction_id", sa.String(length=128), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("load_after", sa.Float(), nullable=False),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column("break_id", sa.String(length=64), nullable=True),
        sa.Column("seen_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("seen_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_reports_team_seen", "agent_reports", ["team", "seen_at"])
    op.create_index("ix_agent_reports_agent_at", "agent_reports", ["agent_id", "at"])
    with op.batch_alter_table("break_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guard", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("break_decisions", schema=None) as batch_op:
        batch_op.drop_column("detail")
        batch_op.drop_column("guard")
    op.drop_index("ix_agent_reports_agent_at", table_name="agent_reports")
    op.drop_index("ix_agent_reports_team_seen", table_name="agent_reports")
    op.drop_table("agent_reports")
