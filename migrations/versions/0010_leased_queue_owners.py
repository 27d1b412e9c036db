"""crm_deliveries, routing_commands, commitments, breaks: an owner and a lease end, so every queue is leased alike

The outboxes used `next_attempt_at` as their lease and never checked who held a row, so a worker whose lease ran
out could still record its outcome over a row another worker had claimed since. Commitments and breaks were
acted on under a row lock alone. Now all six queues share `aftercare.core.leased_queue`: `claimed_by` holds the
token of the claim, `lease_until` its end, and an outcome is recorded only while the token still matches.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("crm_deliveries", "routing_commands", "commitments", "breaks")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
            batch_op.add_column(sa.Column("lease_until", aftercare.core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("lease_until")
            batch_op.drop_column("claimed_by")
