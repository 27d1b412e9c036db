"""cases remember the help desk they came from; interactions keep how their contact was found

A case that arrived through a native connector (`/webhooks/<desk>`) is reopened in that desk: `cases.desk` names
it (`zendesk`, `chatwoot`, …) and `cases.desk_ref` is the desk's own ticket or conversation id. Cases that came in
our own format have neither, and `crm.adapter` decides for them. `interactions.contact_notes` lists what the
connector had to do to reach the customer (a contact looked up in the desk's API, a time zone that fell back to
`connectors.default_timezone`, a phone number that was not usable), so a missing check-in can be explained.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("desk", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("desk_ref", sa.String(length=128), nullable=True))
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_notes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_column("contact_notes")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("desk_ref")
        batch_op.drop_column("desk")
