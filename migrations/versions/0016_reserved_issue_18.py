"""Reserved for issue 18 (the rule editor), so parallel work keeps one linear chain; a no-op until it is used

Revision ID: 0016
Revises: 0015
"""
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
