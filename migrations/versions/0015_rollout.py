"""Rollout: link opened, people's time zones, reminders, Slack notifications, bulk jobs, undo

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("opened_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_invitation_created_at", ["created_at"])
    # user.time_zone comes with 0014 (the browser's time zone, also used for reminders).
    op.create_index("ix_device_enrolled_at", "device", ["enrolled_at"])
    op.create_table(
        "reminder_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("max_reminders", sa.Integer(), nullable=False),
        sa.Column("start_hour", sa.Integer(), nullable=False),
        sa.Column("end_hour", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["user_group.id"],
            name=op.f("fk_reminder_schedule_group_id_user_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_schedule")),
        sa.UniqueConstraint("group_id", name=op.f("uq_reminder_schedule_group_id")),
    )
    op.create_table(
        "slack_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_slack_notification_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_notification")),
    )
    op.create_index("ix_slack_notification_due", "slack_notification", ["status", "id"])
    op.create_index(
        op.f("ix_slack_notification_user_id"), "slack_notification", ["user_id"], unique=False
    )
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("slack_notification_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.id"],
            name=op.f("fk_reminder_invitation_id_invitation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_message.id"],
            name=op.f("fk_reminder_outbox_message_id_outbox_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["reminder_schedule.id"],
            name=op.f("fk_reminder_schedule_id_reminder_schedule"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["slack_notification_id"],
            ["slack_notification.id"],
            name=op.f("fk_reminder_slack_notification_id_slack_notification"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_reminder_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
        sa.UniqueConstraint("invitation_id", "step", name=op.f("uq_reminder_invitation_id_step")),
    )
    op.create_index(op.f("ix_reminder_user_id"), "reminder", ["user_id"], unique=False)
    op.create_index(op.f("ix_reminder_sent_at"), "reminder", ["sent_at"], unique=False)
    op.create_table(
        "bulk_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_bulk_job_actor_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_job")),
    )
    op.create_table(
        "undo_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user.id"],
            name=op.f("fk_undo_action_actor_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_undo_action")),
    )


def downgrade():
    op.drop_table("undo_action")
    op.drop_table("bulk_job")
    op.drop_index(op.f("ix_reminder_sent_at"), table_name="reminder")
    op.drop_index(op.f("ix_reminder_user_id"), table_name="reminder")
    op.drop_table("reminder")
    op.drop_index(op.f("ix_slack_notification_user_id"), table_name="slack_notification")
    op.drop_index("ix_slack_notification_due", table_name="slack_notification")
    op.drop_table("slack_notification")
    op.drop_table("reminder_schedule")
    op.drop_index("ix_device_enrolled_at", table_name="device")
    with op.batch_alter_table("invitation") as batch:
        batch.drop_index("ix_invitation_created_at")
        batch.drop_column("opened_at")
