"""Apple conformance: unlock and bootstrap tokens (encrypted), device facts

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("device") as batch:
        batch.add_column(sa.Column("unlock_token", sa.Text(), nullable=True))
        batch.add_column(sa.Column("bootstrap_token", sa.Text(), nullable=True))
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("facts_updated_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("facts_requested_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("device") as batch:
        batch.drop_column("facts_requested_at")
        batch.drop_column("facts_updated_at")
        batch.drop_column("facts")
        batch.drop_column("bootstrap_token")
        batch.drop_column("unlock_token")
