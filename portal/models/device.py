"""Enrolled (and enrolling) devices and their logs."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column, utcnow
from .enums import DeviceOwner, DeviceStatus, EnrollmentMethod, EnrollmentType, Platform
from .user import User


class Device(TimestampMixin, Base):
    """One enrollment of one device.

    A User-Enrolled device is known only by its `enrollment_id`; hardware identifiers
    (`udid`, `serial_number`) are kept for Device Enrollment only.
    """

    __tablename__ = "device"
    __table_args__ = (sa.Index("ix_device_enrolled_at", "enrolled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    platform: Mapped[Platform] = enum_column(Platform)
    os_version: Mapped[str] = mapped_column(sa.String(32), default="")
    model: Mapped[str] = mapped_column(sa.String(100), default="")
    enrollment_type: Mapped[EnrollmentType] = enum_column(EnrollmentType)
    enrollment_method: Mapped[EnrollmentMethod] = enum_column(EnrollmentMethod)
    device_owner: Mapped[DeviceOwner] = enum_column(DeviceOwner, default=DeviceOwner.EMPLOYEE)
    status: Mapped[DeviceStatus] = enum_column(DeviceStatus, default=DeviceStatus.INVITED)
    enrollment_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    enrollment_user_id: Mapped[str | None] = mapped_column(sa.String(100))
    udid: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    serial_number: Mapped[str | None] = mapped_column(sa.String(64))
    # Hash of the per-enrollment secret in the profile's check-in URL.
    checkin_secret_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # While the profile is only downloaded: the same secret, encrypted (key derived from
    # SECRET_KEY), so that downloading again gives the same profile; dropped at check-in.
    checkin_secret_sealed: Mapped[str | None] = mapped_column(sa.String(255))
    checkin_secret_issued_at: Mapped[datetime | None]
    topic: Mapped[str | None] = mapped_column(sa.String(200))
    push_token: Mapped[str | None] = mapped_column(sa.String(200))
    push_magic: Mapped[str | None] = mapped_column(sa.String(100))
    enrolled_at: Mapped[datetime | None]
    last_checkin_at: Mapped[datetime | None]
    unenrolled_at: Mapped[datetime | None]
    # Device Enrollment only, encrypted (portal.apple.secrets): the UnlockToken of the
    # TokenUpdate (ClearPasscode sends it back) and the Mac's bootstrap token.
    unlock_token: Mapped[str | None] = mapped_column(sa.Text)
    bootstrap_token: Mapped[str | None] = mapped_column(sa.Text)
    # What the device last answered to DeviceInformation, ProfileList and
    # InstalledApplicationList (portal.mdm.facts), and when the portal last asked.
    facts: Mapped[dict | None] = mapped_column(sa.JSON)
    facts_updated_at: Mapped[datetime | None]
    facts_requested_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class DeviceLogEntry(Base):
    __tablename__ = "device_log_entry"
    __table_args__ = (sa.Index("ix_device_log_entry_device_created", "device_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("device.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(32))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    device: Mapped[Device] = relationship()
