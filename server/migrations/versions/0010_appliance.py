"""appliance: what kiosk-update said of each release it tried (kept, rolled back, intervention); a rollback
halts the release's rollout at that site (issue 17 follow-up)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'release_reports',
        sa.Column('report_id', sa.String(36), primary_key=True),
        sa.Column('kiosk_id', sa.String(64), nullable=False, index=True),
        sa.Column('version', sa.String(64), nullable=False, index=True),
        sa.Column('outcome', sa.String(16), nullable=False),
        sa.Column('detail', sa.Text, nullable=False),
        sa.Column('kiosk_time', sa.String(40), nullable=False),
        sa.Column('received_at', sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('release_reports')
