"""dashboard: managers and sign-in, churn and contact events for outcome metrics

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "managers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_sign_in_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("session_nonce", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_managers")),
        sa.UniqueConstraint("username", name=op.f("uq_managers_username")),
    )
    op.create_table(
        "manager_sign_in_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manager_sign_in_failures")),
    )
    op.create_index("ix_manager_sign_in_failures_key", "manager_sign_in_failures", ["username", "ip", "at"])
    op.create_table(
        "churn_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("received_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_churn_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_churn_events_event_id")),
    )
    op.create_index(op.f("ix_churn_events_customer_id"), "churn_events", ["customer_id"])
    op.create_index(op.f("ix_churn_events_occurred_at"), "churn_events", ["occurred_at"])
    op.create_table(
        "contact_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=True),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("journey_stage", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("received_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_contact_events_event_id")),
    )
    op.create_index(op.f("ix_contact_events_customer_id"), "contact_events", ["customer_id"])
    op.create_index(op.f("ix_contact_events_occurred_at"), "contact_events", ["occurred_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contact_events_occurred_at"), table_name="contact_events")
    op.drop_index(op.f("ix_contact_events_customer_id"), table_name="contact_events")
    op.drop_table("contact_events")
    op.drop_index(op.f("ix_churn_events_occurred_at"), table_name="churn_events")
    op.drop_index(op.f("ix_churn_events_customer_id"), table_name="churn_events")
    op.drop_table("churn_events")
    op.drop_index("ix_manager_sign_in_failures_key", table_name="manager_sign_in_failures")
    op.drop_table("manager_sign_in_failures")
    op.drop_table("managers")
