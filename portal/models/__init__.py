"""Typed SQLAlchemy models of the portal's domain."""

from .audit import AuditEvent
from .base import Base, utcnow
from .device import Device, DeviceLogEntry
from .enrollment import EnrollmentSetting, Invitation, setting_assignment
from .enums import (
    AppleIdScheme,
    DeliveryStatus,
    DeviceOwner,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    InvitationSender,
    OutboxStatus,
    Platform,
    Role,
    UserSource,
)
from .org import Organization
from .outbox import OutboxMessage
from .user import Group, User, UserSession, group_membership

__all__ = [
    "AppleIdScheme",
    "AuditEvent",
    "Base",
    "DeliveryStatus",
    "Device",
    "DeviceLogEntry",
    "DeviceOwner",
    "DeviceStatus",
    "EnrollmentMethod",
    "EnrollmentSetting",
    "EnrollmentType",
    "Group",
    "Invitation",
    "InvitationSender",
    "Organization",
    "OutboxMessage",
    "OutboxStatus",
    "Platform",
    "Role",
    "User",
    "UserSession",
    "UserSource",
    "group_membership",
    "setting_assignment",
    "utcnow",
]
