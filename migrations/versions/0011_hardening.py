"""Hardening: a pending profile's secret kept sealed for re-downloads; no links left in
sent or cancelled outbox messages

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("device") as batch:
        batch.add_column(sa.Column("checkin_secret_sealed", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("checkin_secret_issued_at", sa.DateTime(), nullable=True))
    # Messages already sent or cancelled: their invitation links must not stay at rest.
    outbox = sa.table(
        "outbox_message",
        sa.column("status", sa.String),
        sa.column("raw", sa.LargeBinary),
        sa.column("body_text", sa.Text),
        sa.column("body_html", sa.Text),
    )
    op.execute(
        outbox.update()
        .where(outbox.c.status.in_(["sent", "cancelled"]))
        .values(raw=b"", body_text="", body_html=None)
    )


def downgrade():
    with op.batch_alter_table("device") as batch:
        batch.drop_column("checkin_secret_issued_at")
        batch.drop_column("checkin_secret_sealed")
