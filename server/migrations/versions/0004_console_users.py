"""console users, sites, sessions and login lockout (issue 15)

Sites group kiosks; console users (attendant, manager, admin) see the kiosks of their sites. Passwords are
argon2id hashes; sessions are kept server-side under the SHA-256 of the cookie value.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

Stamp = sa.String(32)


def upgrade() -> None:
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.String(64), nullable=True))
        batch_op.create_index('ix_kiosks_site_id', ['site_id'])
    op.create_table(
        'sites',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('name', sa.String(200), nullable=False, server_default=''),
    )
    op.create_table(
        'console_users',
        sa.Column('name', sa.String(64), primary_key=True),
        sa.Column('display_name', sa.String(200), nullable=False, server_default=''),
        sa.Column('role', sa.String(16), nullable=False),
        sa.Column('password_hash', sa.String(256), nullable=False),
        sa.Column('disabled', sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column('failed_logins', sa.Integer, nullable=False, server_default='0'),
        sa.Column('locked_until', Stamp),
        sa.Column('created_at', Stamp, nullable=False),
    )
    op.create_table(
        'user_sites',
        sa.Column('user_name', sa.String(64), primary_key=True),
        sa.Column('site_id', sa.String(64), primary_key=True),
    )
    op.create_table(
        'console_sessions',
        sa.Column('id_hash', sa.String(64), primary_key=True),
        sa.Column('user_name', sa.String(64), nullable=False),
        sa.Column('csrf_token', sa.String(64), nullable=False),
        sa.Column('created_at', Stamp, nullable=False),
        sa.Column('last_seen_at', Stamp, nullable=False),
    )
    op.create_index('ix_console_sessions_user_name', 'console_sessions', ['user_name'])


def downgrade() -> None:
    op.drop_index('ix_console_sessions_user_name', 'console_sessions')
    for table in ('console_sessions', 'user_sites', 'console_users', 'sites'):
        op.drop_table(table)
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_index('ix_kiosks_site_id')
        batch_op.drop_column('site_id')
