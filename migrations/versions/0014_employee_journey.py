"""Employee journey: organization branding and support contact, the person's time zone

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organization") as batch:
        batch.add_column(sa.Column("accent_color", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("logo", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("logo_type", sa.String(length=40), nullable=True))
        batch.add_column(
            sa.Column("welcome_message", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch.add_column(
            sa.Column("support_contact", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("organization") as batch:
        batch.alter_column("welcome_message", server_default=None)
        batch.alter_column("support_contact", server_default=None)
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("user") as batch:
        batch.drop_column("time_zone")
    with op.batch_alter_table("organization") as batch:
        batch.drop_column("support_contact")
        batch.drop_column("welcome_message")
        batch.drop_column("logo_type")
        batch.drop_column("logo")
        batch.drop_column("accent_color")
