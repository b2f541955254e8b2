"""Speed: discovery finds a person by lower(managed_apple_id) through an index

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_user_managed_apple_id_lower",
        "user",
        [sa.text("lower(managed_apple_id)")],
        unique=False,
    )


def downgrade():
    # On SQLite a later migration's batch rebuild of `user` (dropping a column) does not carry
    # an expression index over, so it may already be gone when this runs.
    op.execute("DROP INDEX IF EXISTS ix_user_managed_apple_id_lower")
