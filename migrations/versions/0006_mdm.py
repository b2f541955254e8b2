"""MDM commands and account-driven access tokens

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COMMAND_STATUS = sa.Enum(
    "queued",
    "sent",
    "acknowledged",
    "error",
    "not_now",
    "format_error",
    name="commandstatus",
    native_enum=False,
    length=32,
)
_ENROLLMENT_TYPE = sa.Enum(
    "user", "device", "mam", name="enrollmenttype", native_enum=False, length=32
)


def upgrade():
    op.create_table(
        "mdm_command",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("request_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", _COMMAND_STATUS, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("result_at", sa.DateTime(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("queued_by_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_mdm_command_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queued_by_id"],
            ["user.id"],
            name=op.f("fk_mdm_command_queued_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdm_command")),
        sa.UniqueConstraint("uuid", name=op.f("uq_mdm_command_uuid")),
    )
    with op.batch_alter_table("mdm_command", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mdm_command_device_status", ["device_id", "status", "id"], unique=False
        )

    op.create_table(
        "mdm_access_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_type", _ENROLLMENT_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_mdm_access_token_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_mdm_access_token_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdm_access_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_mdm_access_token_token_hash")),
    )
    with op.batch_alter_table("mdm_access_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mdm_access_token_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mdm_access_token_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("mdm_access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mdm_access_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_mdm_access_token_device_id"))
    op.drop_table("mdm_access_token")
    with op.batch_alter_table("mdm_command", schema=None) as batch_op:
        batch_op.drop_index("ix_mdm_command_device_status")
    op.drop_table("mdm_command")
