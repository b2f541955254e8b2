"""Typed SQLAlchemy models of the portal's domain."""

from .apple import LocationToken, PushCertificate
from .apps import AdminNotification, App, LicenceAssignment, LicenceType
from .audit import AuditEvent
from .base import Base, utcnow
from .configuration import (
    AppInstallState,
    AppOffer,
    Configuration,
    ConfigurationKind,
    DeclarativeStatus,
    DeliveryState,
    DeviceApp,
    DeviceConfiguration,
    configuration_group,
)
from .decision import EnrollmentDecision as EnrollmentDecision
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
from .identity import OidcIdentity, ScimToken
from .mdm import CommandStatus as CommandStatus
from .mdm import MDMAccessToken as MDMAccessToken
from .mdm import MDMCommand as MDMCommand
from .org import Organization
from .outbox import OutboxMessage
from .rollout import BulkJob, Reminder, ReminderSchedule, SlackNotification, UndoAction
from .user import Group, User, UserSession, group_membership
from .worker import BackgroundJob, PushRequest, WorkerHeartbeat

__all__ = [
    "AppInstallState",
    "AppOffer",
    "Configuration",
    "ConfigurationKind",
    "DeclarativeStatus",
    "DeliveryState",
    "DeviceApp",
    "DeviceConfiguration",
    "configuration_group",
    "AdminNotification",
    "App",
    "LicenceAssignment",
    "LicenceType",
    "AppleIdScheme",
    "AuditEvent",
    "BackgroundJob",
    "BulkJob",
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
    "LocationToken",
    "Organization",
    "OutboxMessage",
    "OutboxStatus",
    "Platform",
    "PushCertificate",
    "PushRequest",
    "Reminder",
    "ReminderSchedule",
    "Role",
    "OidcIdentity",
    "ScimToken",
    "SlackNotification",
    "UndoAction",
    "User",
    "UserSession",
    "UserSource",
    "WorkerHeartbeat",
    "group_membership",
    "setting_assignment",
    "utcnow",
]
