"""Apple setup: push certificate and Apps & Books location token

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "push_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.Text(), nullable=True),
        sa.Column("request_created_at", sa.DateTime(), nullable=True),
        sa.Column("certificate_pem", sa.Text(), nullable=True),
        sa.Column("private_key", sa.Text(), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("not_after", sa.DateTime(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_certificate")),
    )
    op.create_table(
        "location_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_name", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location_token")),
    )


def downgrade():
    op.drop_table("location_token")
    op.drop_table("push_certificate")
