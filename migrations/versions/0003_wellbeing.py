"""wellbeing: break rules, decisions, agent state

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("state_changed_at", aftercare.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("load_events") as batch:
        batch.add_column(sa.Column("team", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("duration_seconds", sa.Float(), nullable=True))
        batch.create_index("ix_load_events_team_at", ["team", "at"], unique=False)
    with op.batch_alter_table("queue_items") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))

    op.create_table(
        "break_rule_sets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_rule_sets")),
        sa.UniqueConstraint("scope", "version", name="uq_break_rule_sets_scope_version"),
    )

    op.create_table(
        "breaks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("start", sa.String(length=16), nullable=False),
        sa.Column("request_reasons", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("requested_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("retry_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("granted_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("ready_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("started_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("ends_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("ended_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("was_deferred", sa.Boolean(), nullable=False),
        sa.Column("queue_item_id", sa.String(length=64), nullable=True),
        sa.Column("escalation_item_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breaks")),
    )
    with op.batch_alter_table("breaks") as batch:
        batch.create_index(batch.f("ix_breaks_team"), ["team"], unique=False)
        batch.create_index("ix_breaks_state_retry_at", ["state", "retry_at"], unique=False)
        batch.create_index("ix_breaks_state_ends_at", ["state", "ends_at"], unique=False)
        batch.create_index("ix_breaks_agent_state", ["agent_id", "state"], unique=False)

    op.create_table(
        "break_decisions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("break_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("start", sa.String(length=16), nullable=False),
        sa.Column("starts_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("retry_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("escalate_to", sa.String(length=100), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("decided_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["break_id"], ["breaks.id"], name=op.f("fk_break_decisions_break_id_breaks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_decisions")),
    )
    with op.batch_alter_table("break_decisions") as batch:
        batch.create_index(batch.f("ix_break_decisions_break_id"), ["break_id"], unique=False)
        batch.create_index("ix_break_decisions_agent_at", ["agent_id", "decided_at"], unique=False)
        batch.create_index("ix_break_decisions_team_at", ["team", "decided_at"], unique=False)

    op.create_table(
        "routing_commands",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("adapter", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_commands")),
    )
    with op.batch_alter_table("routing_commands") as batch:
        batch.create_index("ix_routing_commands_due", ["state", "next_attempt_at"], unique=False)
        batch.create_index("ix_routing_commands_key", ["key", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("routing_commands") as batch:
        batch.drop_index("ix_routing_commands_key")
        batch.drop_index("ix_routing_commands_due")
    op.drop_table("routing_commands")
    with op.batch_alter_table("break_decisions") as batch:
        batch.drop_index("ix_break_decisions_team_at")
        batch.drop_index("ix_break_decisions_agent_at")
        batch.drop_index(batch.f("ix_break_decisions_break_id"))
    op.drop_table("break_decisions")
    with op.batch_alter_table("breaks") as batch:
        batch.drop_index("ix_breaks_agent_state")
        batch.drop_index("ix_breaks_state_ends_at")
        batch.drop_index("ix_breaks_state_retry_at")
        batch.drop_index(batch.f("ix_breaks_team"))
    op.drop_table("breaks")
    op.drop_table("break_rule_sets")
    with op.batch_alter_table("queue_items") as batch:
        batch.drop_column("external_id")
    with op.batch_alter_table("load_events") as batch:
        batch.drop_index("ix_load_events_team_at")
        batch.drop_column("duration_seconds")
        batch.drop_column("facts")
        batch.drop_column("team")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("state_changed_at")
