"""insight: device uptime and faults per kiosk (issue 16)

One row per device fault span, from the kiosks' live states (server/insight_devices.py).

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        'insight_device_faults',
        sa.Column('id', id_type, primary_key=True, autoincrement=True),
        sa.Column('kiosk_id', sa.String(64), nullable=False),
        sa.Column('device', sa.String(64), nullable=False),
        sa.Column('detail', sa.String(256), nullable=False, server_default=''),
        sa.Column('started_at', sa.String(32), nullable=False),
        sa.Column('ended_at', sa.String(32)),
    )
    op.create_index('ix_insight_device_faults_kiosk_started', 'insight_device_faults', ['kiosk_id', 'started_at'])
    op.create_index('ix_insight_device_faults_started', 'insight_device_faults', ['started_at'])


def downgrade() -> None:
    op.drop_table('insight_device_faults')
