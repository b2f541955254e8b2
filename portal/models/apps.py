"""Apps & Books: the app catalogue, licence assignments, and stored admin notifications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column, utcnow
from .device import Device
from .enums import EnrollmentType, Platform
from .user import User


class LicenceType(StrEnum):
    """Apple assigns a user-based licence to an Apple Account (here the Managed Apple ID), a
    device-based one to a serial number."""

    USER = "user"
    DEVICE = "device"


class App(TimestampMixin, Base):
    """An app the organization holds Apps & Books licences for.

    `assigned_licences` is the number in use: raised only by one conditional UPDATE
    (`assigned < total`), which is what hands out the last licence to exactly one installer.
    """

    __tablename__ = "app"
    __table_args__ = (
        sa.CheckConstraint("total_licences >= 0", name="total_not_negative"),
        sa.CheckConstraint("assigned_licences >= 0", name="assigned_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    adam_id: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    platform: Mapped[Platform] = enum_column(Platform)
    licence_type: Mapped[LicenceType] = enum_column(LicenceType, default=LicenceType.USER)
    total_licences: Mapped[int] = mapped_column(default=0)
    assigned_licences: Mapped[int] = mapped_column(default=0)
    # Set when the counts last came from Apple's Apps and Books service.
    synced_at: Mapped[datetime | None]

    @property
    def free_licences(self) -> int:
        return max(0, self.total_licences - self.assigned_licences)

    def __repr__(self) -> str:
        return f"<App {self.adam_id} {self.name!r}>"


class LicenceAssignment(Base):
    """One licence in use (or released, kept as history).

    A user-based licence belongs to the person for one enrollment type (Apple counts the one
    used under User Enrollment apart from the one used under Device Enrollment); a
    device-based licence belongs to one Device-Enrolled device.
    """

    __tablename__ = "licence_assignment"
    __table_args__ = (
        sa.Index(
            "uq_licence_assignment_active_user",
            "app_id",
            "user_id",
            "enrollment_type",
            unique=True,
            sqlite_where=sa.text("released_at IS NULL AND licence_type = 'user'"),
            postgresql_where=sa.text("released_at IS NULL AND licence_type = 'user'"),
        ),
        sa.Index(
            "uq_licence_assignment_active_device",
            "app_id",
            "device_id",
            unique=True,
            sqlite_where=sa.text("released_at IS NULL AND licence_type = 'device'"),
            postgresql_where=sa.text("released_at IS NULL AND licence_type = 'device'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("app.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("device.id", ondelete="SET NULL"), index=True
    )
    licence_type: Mapped[LicenceType] = enum_column(LicenceType)
    enrollment_type: Mapped[EnrollmentType] = enum_column(EnrollmentType)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(sa.String(50))

    app: Mapped[App] = relationship()
    user: Mapped[User] = relationship()
    device: Mapped[Device | None] = relationship()


class AdminNotification(Base):
    """Something that went wrong and needs an admin, kept until dismissed or resolved.

    The text is composed when shown, in the reader's language, from `code` and `details`.
    """

    __tablename__ = "admin_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50), index=True)
    severity: Mapped[str] = mapped_column(sa.String(10), default="error")
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    app_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    resolution: Mapped[str | None] = mapped_column(sa.String(20))  # "dismissed" | "resolved"

    app: Mapped[App | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
