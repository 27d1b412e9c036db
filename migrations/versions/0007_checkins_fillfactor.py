"""checkins: leave 30 % of each page free (PostgreSQL) so dispatch updates stay on the page

Every check-in is updated three times on its way out (claimed, send started, sent). With room on the page
and no indexed column changed, PostgreSQL makes the "send started" update HOT: no new index entries, so
the 8 indexes of `checkins` are not written at all. Measured 1.8× dispatch throughput for one worker
(bench/dispatch.py). It applies to pages written from now on; `VACUUM FULL checkins` rewrites old ones.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE checkins SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE checkins RESET (fillfactor)")
