"""directory and policy

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "enrollment_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column(
            "platform",
            sa.Enum("ios", "ipados", "macos", name="platform", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("os_version", sa.String(length=32), nullable=False),
        sa.Column("supervised", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column(
            "enrollment_type",
            sa.Enum("user", "device", "mam", name="enrollmenttype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "enrollment_method",
            sa.Enum(
                "account_driven",
                "profile",
                "ade",
                "configurator",
                "none",
                name="enrollmentmethod",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason_codes", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("asked_via", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user.id"],
            name=op.f("fk_enrollment_decision_actor_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_enrollment_decision_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_decision")),
    )
    with op.batch_alter_table("enrollment_decision", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrollment_decision_user_created", ["user_id", "created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("enrollment_decision", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollment_decision_user_created")
    op.drop_table("enrollment_decision")
