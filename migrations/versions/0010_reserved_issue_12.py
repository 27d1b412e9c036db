"""Reserved for issue 12 (the kernel, intake package and leased queue), so parallel work keeps one linear chain; a no-op until it is used

Revision ID: 0010
Revises: 0009
"""
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
