"""Reserved for issue 16 (close the loop: reasons and known problems), so parallel work keeps one linear chain; a no-op until it is used

Revision ID: 0014
Revises: 0013
"""
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
