"""session records and rollups for fleet insight (issue 16)

Raw session rows (insight_sessions, kept for a configurable number of days) and two rollups the dashboards read:
per kiosk × hour × flow × language, and per day × site × flow × language with sessions per hour of the day.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

from server.db import HOUR_METRICS, SUM_METRICS

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _metrics(names):
    return [sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in names]


def upgrade() -> None:
    op.create_table(
        'insight_sessions',
        sa.Column('session_id', sa.String(36), primary_key=True),
        sa.Column('kiosk_id', sa.String(64), nullable=False),
        sa.Column('site_id', sa.String(64), nullable=False, server_default=''),
        sa.Column('started_at', sa.String(32), nullable=False),
        sa.Column('duration_ms', sa.BigInteger, nullable=False),
        sa.Column('flow', sa.String(16), nullable=False),
        sa.Column('language', sa.String(16), nullable=False),
        sa.Column('outcome', sa.String(16), nullable=False),
        sa.Column('scans', sa.Integer, nullable=False),
        sa.Column('help_calls', sa.Integer, nullable=False),
        sa.Column('declines', sa.Integer, nullable=False),
        sa.Column('rating', sa.SmallInteger),
        sa.Column('easy', sa.Boolean),
        sa.Column('amount_minor', sa.BigInteger, nullable=False),
        sa.Column('currency', sa.String(3), nullable=False, server_default=''),
    )
    op.create_index('ix_insight_sessions_kiosk_started', 'insight_sessions', ['kiosk_id', 'started_at'])
    op.create_index('ix_insight_sessions_started', 'insight_sessions', ['started_at'])
    op.create_index('ix_insight_sessions_site_started', 'insight_sessions', ['site_id', 'started_at'])
    op.create_table(
        'insight_hourly',
        sa.Column('kiosk_id', sa.String(64), primary_key=True),
        sa.Column('hour', sa.String(13), primary_key=True),
        sa.Column('flow', sa.String(16), primary_key=True),
        sa.Column('language', sa.String(16), primary_key=True),
        sa.Column('site_id', sa.String(64), nullable=False, server_default=''),
        *_metrics(SUM_METRICS),
    )
    op.create_table(
        'insight_daily',
        sa.Column('day', sa.String(10), primary_key=True),
        sa.Column('site_id', sa.String(64), primary_key=True),
        sa.Column('flow', sa.String(16), primary_key=True),
        sa.Column('language', sa.String(16), primary_key=True),
        *_metrics(SUM_METRICS + HOUR_METRICS),
    )
    op.create_table(
        'insight_alert_rules',
        sa.Column('site_id', sa.String(64), primary_key=True),
        sa.Column('min_completion_rate', sa.Float),
        sa.Column('max_help_per_100', sa.Float),
        sa.Column('min_rating_avg', sa.Float),
        sa.Column('rating_last_n', sa.Integer, nullable=False, server_default='50'),
        sa.Column('window_hours', sa.Integer, nullable=False, server_default='24'),
        sa.Column('min_sessions', sa.Integer, nullable=False, server_default='20'),
    )


def downgrade() -> None:
    for table in ('insight_alert_rules', 'insight_daily', 'insight_hourly', 'insight_sessions'):
        op.drop_table(table)
