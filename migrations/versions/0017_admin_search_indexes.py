"""Admin pages at scale: users ordered by name through an index; name and e-mail searches
through trigram indexes on PostgreSQL

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TRIGRAM_COLUMNS = ("display_name", "email")


def upgrade():
    op.create_index(
        "ix_user_display_name_order", "user", [sa.text("lower(display_name)"), "id"], unique=False
    )
    # The users list counts the conflicts on every visit.
    op.create_index(
        "ix_user_managed_apple_id_conflict", "user", ["managed_apple_id_conflict"], unique=False
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm ships with PostgreSQL (contrib); creating it needs the CREATE privilege on the
    # database, which the portal's owner role has.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM_COLUMNS:
        op.execute(
            f'CREATE INDEX ix_user_{column}_trgm ON "user" '
            f"USING gin (lower({column}) gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in TRIGRAM_COLUMNS:
            op.execute(f"DROP INDEX IF EXISTS ix_user_{column}_trgm")
        # The extension stays: other databases objects may use it by now.
    # On SQLite a later batch rebuild of `user` may have dropped the expression index already.
    op.drop_index("ix_user_managed_apple_id_conflict", table_name="user")
    op.execute("DROP INDEX IF EXISTS ix_user_display_name_order")
