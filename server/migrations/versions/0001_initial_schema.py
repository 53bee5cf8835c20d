"""initial schema

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('admin_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=200), server_default='', nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_table('alarms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarms_kiosk_id'), ['kiosk_id'], unique=False)

    op.create_table('bookings',
    sa.Column('code', sa.String(length=128), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('change_no', sa.BigInteger(), nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('used_by', sa.String(length=64), nullable=True),
    sa.Column('used_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookings_change_no'), ['change_no'], unique=False)

    op.create_table('catalog_items',
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('change_no', sa.BigInteger(), nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('item_id')
    )
    with op.batch_alter_table('catalog_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_items_change_no'), ['change_no'], unique=False)

    counters = op.create_table('counters',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.bulk_insert(counters, [{"name": name, "value": 0} for name in (
        "catalog", "catalog_horizon", "bookings", "bookings_horizon")])
    op.create_table('dead_letters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('uuid', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kiosk_id', 'seq', name='uq_dead_letters_kiosk_seq')
    )
    op.create_table('kiosks',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('enrolled_at', sa.String(length=32), nullable=False),
    sa.Column('disabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('last_seen_at', sa.String(length=32), nullable=True),
    sa.Column('last_heartbeat_at', sa.String(length=32), nullable=True),
    sa.Column('app_version', sa.String(length=64), nullable=True),
    sa.Column('device_states', sa.Text(), server_default='{}', nullable=False),
    sa.Column('queue_depth', sa.BigInteger(), nullable=True),
    sa.Column('oldest_unsent_age_s', sa.Float(), nullable=True),
    sa.Column('held_through', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('max_seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('config', sa.Text(), server_default='{}', nullable=False),
    sa.Column('config_version', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('transactions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('uuid', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('payload_hash', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.String(length=32), nullable=False),
    sa.Column('receipt_token', sa.String(length=128), nullable=True),
    sa.Column('booking_code', sa.String(length=128), nullable=True),
    sa.Column('flag', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kiosk_id', 'seq', name='uq_transactions_kiosk_seq'),
    sa.UniqueConstraint('uuid', name='uq_transactions_uuid')
    )
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transactions_booking_code'), ['booking_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_transactions_receipt_token'), ['receipt_token'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transactions_receipt_token'))
        batch_op.drop_index(batch_op.f('ix_transactions_booking_code'))

    op.drop_table('transactions')
    op.drop_table('kiosks')
    op.drop_table('dead_letters')
    op.drop_table('counters')
    with op.batch_alter_table('catalog_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_items_change_no'))

    op.drop_table('catalog_items')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookings_change_no'))

    op.drop_table('bookings')
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarms_kiosk_id'))

    op.drop_table('alarms')
    op.drop_table('admin_tokens')
    op.drop_table('admin_log')
