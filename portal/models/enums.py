"""Enumerations shared by models, services and templates."""

from enum import StrEnum


class Role(StrEnum):
    EMPLOYEE = "employee"
    HELPDESK = "helpdesk"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def includes(self, other: "Role") -> bool:
        """admin ⊇ helpdesk ⊇ employee."""
        return self.rank >= other.rank


_ROLE_RANK = {Role.EMPLOYEE: 0, Role.HELPDESK: 1, Role.ADMIN: 2}


class UserSource(StrEnum):
    LOCAL = "local"
    LDAP = "ldap"
    ENTRA = "entra"


class AppleIdScheme(StrEnum):
    EMAIL = "email"
    UPN = "upn"


class EnrollmentType(StrEnum):
    USER = "user"
    DEVICE = "device"
    MAM = "mam"


class EnrollmentMethod(StrEnum):
    ACCOUNT_DRIVEN = "account_driven"
    PROFILE = "profile"
    ADE = "ade"
    CONFIGURATOR = "configurator"
    NONE = "none"


class DeviceOwner(StrEnum):
    EMPLOYEE = "employee"
    COMPANY = "company"


class Platform(StrEnum):
    IOS = "ios"
    IPADOS = "ipados"
    MACOS = "macos"


class DeviceStatus(StrEnum):
    INVITED = "invited"
    PROFILE_DOWNLOADED = "profile_downloaded"
    AUTHENTICATED = "authenticated"
    ENROLLED = "enrolled"
    UNENROLLED = "unenrolled"
    # Started and never finished (no check-in within ENROLLMENT_PENDING_HOURS).
    EXPIRED = "expired"


class InvitationSender(StrEnum):
    SYSTEM = "system"
    IMPORT = "import"
    ADMIN = "admin"
    HELPDESK = "helpdesk"
    SLACK = "slack"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    # Not to be sent any more (e.g. the invitation it carried was revoked before sending).
    CANCELLED = "cancelled"
