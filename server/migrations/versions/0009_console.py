"""console: failed logins per (user, client address), so a stranger's failures lock the account only for the
stranger's address (issue 15 follow-up)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

Stamp = sa.String(32)


def upgrade() -> None:
    op.create_table(
        'console_login_failures',
        sa.Column('user_name', sa.String(64), primary_key=True),
        sa.Column('client', sa.String(64), primary_key=True),
        sa.Column('failures', sa.Integer, nullable=False, server_default='0'),
        sa.Column('locked_until', Stamp),
        sa.Column('last_failed_at', Stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table('console_login_failures')
