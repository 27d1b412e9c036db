"""Reserved for issue 14 (reply understanding in five languages), so parallel work keeps one linear chain; a no-op until it is used

Revision ID: 0012
Revises: 0011
"""
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
