"""identity providers and SCIM

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scim_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_scim_token_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_token_token_hash")),
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deprovisioned_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("directory_attributes", sa.JSON(), nullable=True))
    with op.batch_alter_table("user_group", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "source",
                sa.Enum(
                    "local", "ldap", "entra", name="usersource", native_enum=False, length=32
                ),
                nullable=False,
                server_default="local",
            )
        )


def downgrade():
    with op.batch_alter_table("user_group", schema=None) as batch_op:
        batch_op.drop_column("source")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("directory_attributes")
        batch_op.drop_column("deprovisioned_at")
    op.drop_table("scim_token")
