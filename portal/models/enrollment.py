"""Enrollment settings (assigned to groups by priority) and invitations."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column
from .enums import DeliveryStatus, DeviceOwner, EnrollmentType, InvitationSender
from .user import Group, User

setting_assignment = sa.Table(
    "setting_assignment",
    Base.metadata,
    sa.Column(
        "setting_id", sa.ForeignKey("enrollment_setting.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("group_id", sa.ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True),
)


class EnrollmentSetting(TimestampMixin, Base):
    """An "Apple enrollment type" setting; the lowest `priority` number wins."""

    __tablename__ = "enrollment_setting"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    enrollment_type: Mapped[EnrollmentType] = enum_column(
        EnrollmentType, default=EnrollmentType.DEVICE
    )
    device_owner: Mapped[DeviceOwner] = enum_column(DeviceOwner, default=DeviceOwner.EMPLOYEE)
    priority: Mapped[int] = mapped_column(default=100, index=True)
    # The one setting that applies to users in no assigned group.
    is_default: Mapped[bool] = mapped_column(default=False)

    groups: Mapped[list[Group]] = relationship(secondary=setting_assignment, order_by="Group.name")


class Invitation(TimestampMixin, Base):
    """An enrollment invitation; only the token's hash is stored."""

    __tablename__ = "invitation"
    __table_args__ = (sa.Index("ix_invitation_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    sent_by: Mapped[InvitationSender] = enum_column(InvitationSender)
    sent_by_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    delivery_status: Mapped[DeliveryStatus] = enum_column(
        DeliveryStatus, default=DeliveryStatus.QUEUED
    )
    outbox_message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbox_message.id", ondelete="SET NULL"), index=True
    )
    # First visit of the link while it was valid (before signing in): the funnel's "opened".
    opened_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    sent_by_user: Mapped[User | None] = relationship(foreign_keys=[sent_by_user_id])
