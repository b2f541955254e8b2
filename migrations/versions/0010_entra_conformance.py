"""Entra ID conformance: OpenID identities bound to accounts; groups' last change

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oidc_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_oidc_identity_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_identity")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_oidc_identity_issuer_subject")),
        sa.UniqueConstraint("tenant_id", "object_id", name=op.f("uq_oidc_identity_tenant_id_object_id")),
    )
    with op.batch_alter_table("oidc_identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_identity_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("user_group", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("user_group", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("oidc_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_identity_user_id"))
    op.drop_table("oidc_identity")
