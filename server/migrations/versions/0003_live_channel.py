"""live channel: lanes, interventions and attendant commands (issue 15)

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Stamp = sa.String(length=32)


def upgrade() -> None:
    op.create_table('live_lanes',
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('boot_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('state', sa.Text(), nullable=True),
    sa.Column('state_at', Stamp, nullable=True),
    sa.Column('status', sa.String(length=32), server_default='offline', nullable=False),
    sa.Column('status_since', Stamp, nullable=True),
    sa.Column('stream_id', sa.String(length=64), nullable=True),
    sa.Column('stream_alive_at', Stamp, nullable=True),
    sa.Column('last_seen_at', Stamp, nullable=True),
    sa.PrimaryKeyConstraint('kiosk_id')
    )
    op.create_table('live_interventions',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('open_kind', sa.String(length=32), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('raised_at', Stamp, nullable=False),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.Column('acknowledged_at', Stamp, nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.Column('resolved_at', Stamp, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kiosk_id', 'open_kind', name='uq_live_interventions_open')
    )
    with op.batch_alter_table('live_interventions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_interventions_kiosk_id'), ['kiosk_id'], unique=False)
    op.create_table('live_commands',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('issued_at', Stamp, nullable=False),
    sa.Column('expires_at', Stamp, nullable=False),
    sa.Column('outcome', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('answered_at', Stamp, nullable=True),
    sa.Column('intervention_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_commands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_commands_kiosk_id'), ['kiosk_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_commands_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_table('live_commands')
    op.drop_table('live_interventions')
    op.drop_table('live_lanes')
