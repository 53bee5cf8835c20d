"""console: per-address login throttling and live-channel leftovers (issue 15), placeholder until used

Revision ID: 0009
Revises: 0008
"""
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
