"""close the loop: why customers come back (reopen category, root cause) and known problems with fix notices

`cases.reopen_category` is the reason category of the last reopen (`replies.reason_category` of every reopening
reply); `cases.root_cause` what the agent gave on close. `problems`, `problem_cases` (the cases a problem took in)
and `problem_notices` (per affected customer: the fix notice, or why none went). A fix notice is a check-in of kind
`fix_notice` with no interaction of its own, so `checkins.interaction_id` may be NULL.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

import aftercare.core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("reopen_category", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("root_cause", sa.String(length=200), nullable=True))
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("reason_category", sa.String(length=32), nullable=True))
    with op.batch_alter_table("checkins") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="checkin"))
        batch.add_column(sa.Column("problem_id", sa.String(length=64), nullable=True))
        batch.alter_column("interaction_id", existing_type=sa.String(length=128), nullable=True)
        batch.create_index("ix_checkins_problem_id", ["problem_id"])
    op.create_table(
        "problems",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("journey_stage", sa.String(length=64), nullable=True),
        sa.Column("window_from", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("window_to", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("opened_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", aftercare.core.db.UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
    )
    op.create_index("ix_problems_category", "problems", ["category"])
    op.create_index("ix_problems_state", "problems", ["state"])
    op.create_table(
        "problem_cases",
        sa.Column("problem_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("linked_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["problem_id"], ["problems.id"], name=op.f("fk_problem_cases_problem_id_problems")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_problem_cases_case_id_cases")),
        sa.PrimaryKeyConstraint("problem_id", "case_id", name=op.f("pk_problem_cases")),
    )
    op.create_index("ix_problem_cases_case_id", "problem_cases", ["case_id"])
    op.create_index("ix_problem_cases_customer_id", "problem_cases", ["customer_id"])
    op.create_table(
        "problem_notices",
        sa.Column("problem_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("checkin_id", sa.String(length=64), nullable=True),
        sa.Column("skip_code", sa.String(length=32), nullable=True),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("decided_at", aftercare.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["problem_id"], ["problems.id"], name=op.f("fk_problem_notices_problem_id_problems")),
        sa.PrimaryKeyConstraint("problem_id", "customer_id", name=op.f("pk_problem_notices")),
    )
    op.create_index("ix_problem_notices_checkin_id", "problem_notices", ["checkin_id"])


def downgrade() -> None:
    op.drop_table("problem_notices")
    op.drop_table("problem_cases")
    op.drop_table("problems")
    with op.batch_alter_table("checkins") as batch:
        batch.drop_index("ix_checkins_problem_id")
        batch.drop_column("problem_id")
        batch.drop_column("kind")
        batch.alter_column("interaction_id", existing_type=sa.String(length=128), nullable=False)
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("reason_category")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("root_cause")
        batch.drop_column("reopen_category")
