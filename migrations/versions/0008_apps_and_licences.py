"""Apps & Books: app catalogue, licence assignments, stored admin notifications

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "app",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adam_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "platform",
            sa.Enum("ios", "ipados", "macos", name="platform", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "licence_type",
            sa.Enum("user", "device", name="licencetype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("total_licences", sa.Integer(), nullable=False),
        sa.Column("assigned_licences", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("assigned_licences >= 0", name=op.f("ck_app_assigned_not_negative")),
        sa.CheckConstraint("total_licences >= 0", name=op.f("ck_app_total_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app")),
        sa.UniqueConstraint("adam_id", name=op.f("uq_app_adam_id")),
    )
    op.create_table(
        "admin_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["app.id"],
            name=op.f("fk_admin_notification_app_id_app"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_admin_notification_device_id_device"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["user.id"],
            name=op.f("fk_admin_notification_resolved_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_admin_notification_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_notification")),
    )
    with op.batch_alter_table("admin_notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_notification_code"), ["code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_admin_notification_resolved_at"), ["resolved_at"], unique=False
        )

    op.create_table(
        "licence_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column(
            "licence_type",
            sa.Enum("user", "device", name="licencetype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "enrollment_type",
            sa.Enum("user", "device", "mam", name="enrollmenttype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("release_reason", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["app.id"],
            name=op.f("fk_licence_assignment_app_id_app"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_licence_assignment_device_id_device"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_licence_assignment_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence_assignment")),
    )
    with op.batch_alter_table("licence_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licence_assignment_app_id"), ["app_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_licence_assignment_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_licence_assignment_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index(
            "uq_licence_assignment_active_device",
            ["app_id", "device_id"],
            unique=True,
            sqlite_where=sa.text("released_at IS NULL AND licence_type = 'device'"),
            postgresql_where=sa.text("released_at IS NULL AND licence_type = 'device'"),
        )
        batch_op.create_index(
            "uq_licence_assignment_active_user",
            ["app_id", "user_id", "enrollment_type"],
            unique=True,
            sqlite_where=sa.text("released_at IS NULL AND licence_type = 'user'"),
            postgresql_where=sa.text("released_at IS NULL AND licence_type = 'user'"),
        )


def downgrade():
    op.drop_table("licence_assignment")
    op.drop_table("admin_notification")
    op.drop_table("app")
