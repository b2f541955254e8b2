"""invitations and outbox

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

_OLD_STATUS = sa.Enum("pending", "sent", "dead", name="outboxstatus", native_enum=False, length=32)
_NEW_STATUS = sa.Enum(
    "pending", "sent", "dead", "cancelled", name="outboxstatus", native_enum=False, length=32
)


def upgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column("raw", sa.LargeBinary(), nullable=False, server_default=sa.text("''"))
        )
        batch_op.add_column(sa.Column("locale", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.alter_column(
            "status", existing_type=_OLD_STATUS, type_=_NEW_STATUS, existing_nullable=False
        )
    # The default only filled existing rows (none are pending before this revision).
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("raw", server_default=None)
    # The worker marks an invitation delivered by its outbox message.
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invitation_outbox_message_id"), ["outbox_message_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_outbox_message_id"))
    op.execute("UPDATE outbox_message SET status = 'dead' WHERE status = 'cancelled'")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column(
            "status", existing_type=_NEW_STATUS, type_=_OLD_STATUS, existing_nullable=False
        )
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("locale")
        batch_op.drop_column("raw")
        batch_op.drop_column("sender")
