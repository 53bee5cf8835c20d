"""signed kiosk releases and rollouts (issue 17)

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_files",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("uploaded_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "release_rollouts",
        sa.Column("site", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("percent", sa.Integer, nullable=False),
        sa.Column("stable_version", sa.String(64)),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "release_sites",
        sa.Column("kiosk_id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("release_sites")
    op.drop_table("release_rollouts")
    op.drop_table("release_files")
