"""The bot's one door into the portal: every call to a portal service is made here.

Listeners never touch models or services directly; they ask this module, which calls the
same services the web pages use (`portal.enrollment.service`, `portal.invitations.service`,
`portal.audit`), commits or rolls back, and hands back plain records. No business rule lives
here: whether a link may be sent, how often, and what is audited are the services' calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from portal import audit
from portal.enrollment import journey, policy
from portal.enrollment import service as enrollment
from portal.extensions import db
from portal.invitations import service as invitations
from portal.models import (
    DeliveryStatus,
    Device,
    DeviceStatus,
    InvitationSender,
    Organization,
    Role,
    User,
)
from portal.privacy import mask_apple_id

# The portal's own errors, under the names the bot uses.
ResendLimitReached = invitations.ResendLimitReached
CannotInvite = invitations.InvitationError

# When a person has no device yet, explain the decision for the newest OS of the platform.
DEFAULT_PLATFORM = "ios"
DEFAULT_VERSIONS = {"ios": "18", "ipados": "18", "macos": "15"}
PLATFORM_NAMES = {"ios": "iOS", "ipados": "iPadOS", "macos": "macOS"}
MAX_DEVICES = 10


@dataclass(frozen=True)
class DeviceLine:
    name: str
    platform: str
    os_version: str
    status: str
    enrollment_type: str
    last_checkin_at: datetime | None


@dataclass(frozen=True)
class StatusReport:
    """What the bot shows about one person's enrollment."""

    user_id: int
    name: str
    email: str
    masked_apple_id: str
    decision: policy.Decision
    platform: str
    os_version: str
    invitation_state: str  # portal.invitations.service.LinkState values
    invitation_expires_at: datetime | None
    invitation_failed: bool
    devices: tuple[DeviceLine, ...]
    device_count: int

    @property
    def platform_name(self) -> str:
        return PLATFORM_NAMES.get(self.platform, self.platform)


@dataclass(frozen=True)
class SentInvitation:
    name: str
    email: str
    link: str
    expires_at: datetime


# -- people ----------------------------------------------------------------------------------


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def user_by_id(user_id: object) -> User | None:
    try:
        return db.session.get(User, int(str(user_id)))
    except ValueError:
        return None


def is_helpdesk(user: User | None) -> bool:
    return user is not None and user.has_role(Role.HELPDESK)


def company_name(user: User | None = None) -> str:
    org = db.session.get(Organization, user.org_id) if user is not None else None
    return org.name if org is not None else current_app.config.get("ORG_NAME", "")


def portal_url(path: str = "/") -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def enroll_url() -> str:
    return portal_url("/enroll")


def qr_url() -> str:
    return portal_url("/enroll/qr.png")


def admin_user_url(user_id: int) -> str:
    return portal_url(f"/admin/users/{user_id}")


# -- status ----------------------------------------------------------------------------------


def _devices(user: User) -> tuple[list[Device], int]:
    newest_first = sa.func.coalesce(Device.last_checkin_at, Device.created_at).desc()
    rows = list(
        db.session.scalars(
            sa.select(Device)
            .where(Device.user_id == user.id, Device.status != DeviceStatus.EXPIRED)
            .order_by(newest_first, Device.id.desc())
            .limit(MAX_DEVICES)
        )
    )
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Device)
        .where(Device.user_id == user.id, Device.status != DeviceStatus.EXPIRED)
    )
    return rows, int(count or 0)


def _decide(user: User, device: Device | None, actor: User | None, record: bool):
    platform = str(device.platform) if device is not None else DEFAULT_PLATFORM
    version = (device.os_version if device is not None else "") or DEFAULT_VERSIONS[platform]
    try:
        decision = enrollment.explain(
            user, platform=platform, os_version=version, record=record, actor=actor, via="slack"
        )
    except enrollment.EnrollmentInputError:
        # A device that reported an odd OS version: explain for the current OS instead.
        version = DEFAULT_VERSIONS[platform]
        decision = enrollment.explain(
            user, platform=platform, os_version=version, record=record, actor=actor, via="slack"
        )
    return decision, platform, version


def status_report(user: User, *, actor: User | None, record: bool = True) -> StatusReport:
    """The decision for the person's newest device (else iOS 18), invitation and devices.

    `record` keeps the decision with `actor` and "slack" (someone asked); the App Home,
    opened without asking, does not record.
    """
    try:
        devices, count = _devices(user)
        decision, platform, version = _decide(user, devices[0] if devices else None, actor, record)
        invitation = invitations.current_invitation(user)
        state = invitations.state_of(invitation)
        report = StatusReport(
            user_id=user.id,
            name=user.display_name or user.email,
            email=user.email,
            masked_apple_id=mask_apple_id(user.managed_apple_id),
            decision=decision,
            platform=platform,
            os_version=version,
            invitation_state=str(state),
            invitation_expires_at=invitation.expires_at if invitation is not None else None,
            invitation_failed=invitation is not None
            and invitation.delivery_status == DeliveryStatus.FAILED,
            devices=tuple(
                DeviceLine(
                    name=d.name,
                    platform=PLATFORM_NAMES.get(str(d.platform), str(d.platform)),
                    os_version=d.os_version,
                    status=str(d.status),
                    enrollment_type=str(d.enrollment_type),
                    last_checkin_at=d.last_checkin_at,
                )
                for d in devices
            ),
            device_count=count,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


# -- invitations -----------------------------------------------------------------------------


def send_invitation(user: User, *, actor: User) -> SentInvitation:
    """A new invitation for `user`, sent by Slack: e-mailed through the outbox and audited.

    The invitation service applies its per-person resend limit (`ResendLimitReached`) and
    refuses accounts that cannot be invited (`CannotInvite`).
    """
    settings = invitations.InvitationSettings.from_config(current_app.config)
    try:
        invitation, token = invitations.invite(
            user, actor=actor, sent_by=InvitationSender.SLACK, channel="slack", settings=settings
        )
        sent = SentInvitation(
            name=user.display_name or user.email,
            email=user.email,
            link=settings.link(token),
            expires_at=invitation.expires_at,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return sent


# -- helpdesk requests -----------------------------------------------------------------------


def mark_handled(notification_id: object, *, actor: User) -> User | None:
    """Mark a "This is my personal phone" request handled from Slack (audited); the person
    who asked, or None when there is no such open request."""
    try:
        notification = journey.resolve_personal_request(
            int(str(notification_id)), actor=actor, channel="slack"
        )
    except ValueError:
        return None
    if notification is None:
        db.session.rollback()
        return None
    person = db.session.get(User, notification.user_id) if notification.user_id else None
    db.session.commit()
    return person


# -- audit -----------------------------------------------------------------------------------


def record_refusal(
    actor: User | None, *, reason: str, asked: str, slack_user_id: str, about: str = ""
) -> None:
    """Audit a Slack request the bot refused (e.g. an employee asking about someone else)."""
    try:
        audit.record(
            actor,
            "slack.refused",
            channel="slack",
            after={
                "reason": reason,
                "asked": asked,
                "about": about[:200],
                "slack_user": slack_user_id,
            },
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
