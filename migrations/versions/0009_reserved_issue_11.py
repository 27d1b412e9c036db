"""Reserved for issue 11 (security fixes), so parallel work keeps one linear chain; a no-op until it is used

Revision ID: 0009
Revises: 0008
"""
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
