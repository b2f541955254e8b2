"""Configurations the company puts on enrolled devices, where each one stands on each
device, work apps offered to groups, and what Declarative Device Management reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .apps import App
from .base import Base, TimestampMixin, enum_column, utcnow
from .device import Device
from .user import Group, User


class ConfigurationKind(StrEnum):
    WIFI = "wifi"
    PER_APP_VPN = "per_app_vpn"
    EXCHANGE = "exchange"
    MAIL = "mail"
    CALDAV = "caldav"
    CARDDAV = "carddav"
    PKCS12 = "pkcs12"
    SCEP = "scep"
    WEBCLIP = "webclip"
    PASSCODE = "passcode"
    APP_CONFIG = "app_config"


class DeliveryState(StrEnum):
    """Where one configuration stands on one device."""

    PENDING = "pending"  # sent (or about to be), no answer yet
    INSTALLED = "installed"
    FAILED = "failed"  # the device answered with an error (kept in `error`)
    REMOVING = "removing"
    REMOVED = "removed"
    NOT_SENT = "not_sent"  # Apple does not apply it to this device: never sent


configuration_group = sa.Table(
    "configuration_group",
    Base.metadata,
    sa.Column(
        "configuration_id",
        sa.ForeignKey("configuration.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("group_id", sa.ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True),
)


class Configuration(TimestampMixin, Base):
    """A configuration profile (or managed app configuration) built from an admin's form.

    `identifier` is the profile's PayloadIdentifier suffix: it never changes, so an edited
    configuration replaces the installed one (`version` counts the edits). Assigned to
    groups or to everyone; when two assigned to a device set the same thing, the lowest
    `priority` number wins.
    """

    __tablename__ = "configuration"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[ConfigurationKind] = enum_column(ConfigurationKind)
    identifier: Mapped[str] = mapped_column(sa.String(100))
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Which systems it is meant for: "ios" (iPhone and iPad) and/or "macos".
    platforms: Mapped[list] = mapped_column(sa.JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)
    priority: Mapped[int] = mapped_column(default=100)
    everyone: Mapped[bool] = mapped_column(default=False)
    # The passcode presets the portal shipped with ("work", "strict") keep their key.
    preset: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    groups: Mapped[list[Group]] = relationship(secondary=configuration_group, order_by="Group.name")

    def __repr__(self) -> str:
        return f"<Configuration {self.kind} {self.name!r} v{self.version}>"


class DeviceConfiguration(Base):
    """One configuration on one device: what was sent, and what the device answered."""

    __tablename__ = "device_configuration"
    __table_args__ = (sa.UniqueConstraint("device_id", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("device.id", ondelete="CASCADE"))
    configuration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("configuration.id", ondelete="SET NULL"), index=True
    )
    # Kept so a removed or deleted configuration can still be named and removed.
    identifier: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[ConfigurationKind] = enum_column(ConfigurationKind)
    version: Mapped[int] = mapped_column(default=1)
    state: Mapped[DeliveryState] = enum_column(DeliveryState, default=DeliveryState.PENDING)
    # False when an admin sent it from the device page: assignments leave it alone.
    assigned: Mapped[bool] = mapped_column(default=True)
    command_uuid: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    # Apple's answer to a failed command (ErrorChain), or why it was not sent.
    error: Mapped[dict | None] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    device: Mapped[Device] = relationship()
    configuration: Mapped[Configuration | None] = relationship()


class AppOffer(Base):
    """A catalogue app offered to a group (or, with no group, to everyone); a required one
    installs by itself on enrollment."""

    __tablename__ = "app_offer"
    __table_args__ = (sa.UniqueConstraint("app_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("app.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_group.id", ondelete="CASCADE"), index=True
    )
    required: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    app: Mapped[App] = relationship()
    group: Mapped[Group | None] = relationship()


class AppInstallState(StrEnum):
    REQUESTED = "requested"  # InstallApplication queued
    INSTALLING = "installing"  # the device accepted it and is installing
    INSTALLED = "installed"  # the device reports it managed and installed
    FAILED = "failed"


class DeviceApp(Base):
    """A work app's installation on one device, from the request to the device's report."""

    __tablename__ = "device_app"
    __table_args__ = (sa.UniqueConstraint("device_id", "app_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("device.id", ondelete="CASCADE"))
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("app.id", ondelete="CASCADE"), index=True)
    state: Mapped[AppInstallState] = enum_column(AppInstallState)
    # "self" (the employee), "admin", "required" (installed on enrollment).
    origin: Mapped[str] = mapped_column(sa.String(16), default="self")
    command_uuid: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    bundle_id: Mapped[str | None] = mapped_column(sa.String(200))
    error: Mapped[dict | None] = mapped_column(sa.JSON)
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    device: Mapped[Device] = relationship()
    app: Mapped[App] = relationship()
    requested_by: Mapped[User | None] = relationship()


class DeclarativeStatus(Base):
    """What a device reported on its Declarative Device Management status channel."""

    __tablename__ = "declarative_status"

    device_id: Mapped[int] = mapped_column(
        sa.ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    enabled_at: Mapped[datetime | None]
    # The DeclarationsToken the device last synchronized.
    synced_token: Mapped[str | None] = mapped_column(sa.String(64))
    last_report_at: Mapped[datetime | None]
    os_version: Mapped[str | None] = mapped_column(sa.String(32))
    build_version: Mapped[str | None] = mapped_column(sa.String(32))
    passcode_compliant: Mapped[bool | None]
    passcode_present: Mapped[bool | None]
    # app.managed.list as the device sent it (bundle id, state, version).
    managed_apps: Mapped[list | None] = mapped_column(sa.JSON)
    # Declarations the device rejected, with its reasons.
    errors: Mapped[list | None] = mapped_column(sa.JSON)

    device: Mapped[Device] = relationship()
