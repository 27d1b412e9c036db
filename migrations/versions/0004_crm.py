"""crm deliveries (dead letters) and commitments

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_deliveries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("adapter", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("updated_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_crm_deliveries_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_deliveries")),
    )
    with op.batch_alter_table("crm_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_deliveries_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_crm_deliveries_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "commitments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("interaction_id", sa.String(length=128), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("agent_name", sa.String(length=200), nullable=True),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("remind_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("reminded_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("reminder_item_id", sa.String(length=64), nullable=True),
        sa.Column("kept_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("escalation_item_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_commitments_case_id_cases")),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"],
                                name=op.f("fk_commitments_interaction_id_interactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
        sa.UniqueConstraint("interaction_id", name=op.f("uq_commitments_interaction_id")),
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commitments_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_commitments_state_remind_at", ["state", "remind_at"], unique=False)
        batch_op.create_index("ix_commitments_state_due_at", ["state", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index("ix_commitments_state_due_at")
        batch_op.drop_index("ix_commitments_state_remind_at")
        batch_op.drop_index(batch_op.f("ix_commitments_case_id"))
    op.drop_table("commitments")

    with op.batch_alter_table("crm_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_deliveries_due")
        batch_op.drop_index(batch_op.f("ix_crm_deliveries_case_id"))
    op.drop_table("crm_deliveries")
