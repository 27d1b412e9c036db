"""Reserved for issue 15 (surviving a database outage), so parallel work keeps one linear chain; a no-op until it is used

Revision ID: 0013
Revises: 0012
"""
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
