"""Reserved for issue 17 (wellbeing: rattled, break status, Erlang A), so parallel work keeps one linear chain; a no-op until it is used

Revision ID: 0015
Revises: 0014
"""
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
