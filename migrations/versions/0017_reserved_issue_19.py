"""Reserved for issue 19 (WhatsApp check-ins), so parallel work keeps one linear chain; a no-op until it is used

Revision ID: 0017
Revises: 0016
"""
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
