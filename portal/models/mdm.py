"""MDM protocol records: commands queued for devices, and account-driven access tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow
from .device import Device
from .enums import EnrollmentType
from .user import User


class CommandStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ERROR = "error"
    NOT_NOW = "not_now"
    FORMAT_ERROR = "format_error"
    # Sent the most times allowed without an answer from the device.
    TIMED_OUT = "timed_out"


class MDMCommand(Base):
    """One MDM command for one device, from queueing to the device's answer."""

    __tablename__ = "mdm_command"
    __table_args__ = (sa.Index("ix_mdm_command_device_status", "device_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("device.id", ondelete="CASCADE"))
    # The CommandUUID the device echoes back with its result.
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    request_type: Mapped[str] = mapped_column(sa.String(64))
    # The command's keys besides RequestType, as plist-able JSON.
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[CommandStatus] = enum_column(CommandStatus, default=CommandStatus.QUEUED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    result_at: Mapped[datetime | None]
    # The device's answer without its envelope (Status, CommandUUID, identifiers).
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    queued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # Where the command came from: web, slack, cli, system.
    channel: Mapped[str] = mapped_column(sa.String(16), default="web")

    device: Mapped[Device] = relationship()
    queued_by: Mapped[User | None] = relationship()


class MDMAccessToken(Base):
    """An access token from the account-driven web sign-in (stored as a SHA-256 hash).

    Issued to a signed-in user, then bound to the device that fetched its profile with it;
    every later request of that device may carry it. Revoked at check-out.
    """

    __tablename__ = "mdm_access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("device.id", ondelete="CASCADE"), index=True
    )
    # The decision taken at sign-in; the profile served for the token never departs from it.
    enrollment_type: Mapped[EnrollmentType] = enum_column(EnrollmentType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    device: Mapped[Device | None] = relationship()
