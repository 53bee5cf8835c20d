"""unique receipt tokens (issue 14)

A receipt token names one sale. Older servers let a second sale under a held token in (and served the first):
before the unique index is built, every later duplicate loses its lookup column (receipt_token = NULL), so
the receipt that was being served stays the one served; the later sale's payload is kept untouched.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE transactions SET receipt_token = NULL WHERE receipt_token IS NOT NULL AND id > "
        "(SELECT min(t2.id) FROM transactions t2 WHERE t2.receipt_token = transactions.receipt_token)")
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_transactions_receipt_token')
        batch_op.create_index('ix_transactions_receipt_token', ['receipt_token'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_transactions_receipt_token')
        batch_op.create_index('ix_transactions_receipt_token', ['receipt_token'], unique=False)
