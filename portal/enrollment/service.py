"""Enrollment decisions from the database: facts loaded here, decided by `policy.decide`.

Used alike by the admin pages, the CLI, and later the enrollment pages, Slack and MDM.
Nothing here reads the request; callers pass the acting user and commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..domain import DomainError
from ..extensions import db
from ..models import (
    Device,
    DeviceOwner,
    EnrollmentDecision,
    EnrollmentSetting,
    EnrollmentType,
    Group,
    Organization,
    User,
    group_membership,
    setting_assignment,
)
from . import journey, policy

MAX_VERSION_LENGTH = 32
PLATFORMS = tuple(p.value for p in policy.Platform)
CHANNELS = tuple(c.value for c in policy.Channel)


class EnrollmentInputError(DomainError, ValueError):
    """Device facts that cannot be decided on; `field` names the form field at fault."""

    field: str | None = None
    default_message = _l("Those device details cannot be used.")


class InvalidPlatform(EnrollmentInputError):
    field = "platform"
    default_message = _l("Choose a platform: iOS, iPadOS or macOS.")


class InvalidOsVersion(EnrollmentInputError):
    field = "os_version"
    default_message = _l("Enter an OS version made of numbers and dots, like 17.4 or 14.6.1.")


class InvalidChannel(EnrollmentInputError):
    field = "channel"
    default_message = _l("Choose how the device enrolls: web, account, ADE or Configurator.")


@dataclass(frozen=True)
class EffectiveSetting:
    """The setting that applies to a user, and where it came from.

    `setting` is None when no default setting exists (the built-in Device Enrollment,
    employee-owned); `group` is the group that gave it, None for the default.
    """

    enrollment_type: EnrollmentType
    device_owner: DeviceOwner
    setting: EnrollmentSetting | None = None
    group: Group | None = None

    @property
    def origin(self) -> str:
        """ "group", "default" or "builtin"."""
        if self.group is not None:
            return "group"
        return "default" if self.setting is not None else "builtin"


BUILTIN_SETTING = EffectiveSetting(EnrollmentType.DEVICE, DeviceOwner.EMPLOYEE)


def effective_setting(user: User) -> EffectiveSetting:
    """The highest-priority setting (lowest number) assigned to any of the user's groups.

    Otherwise the default setting, otherwise Device Enrollment, employee-owned (SPEC §1).
    Equal priorities: the older setting wins, then the group first by name.
    """
    row = db.session.execute(
        sa.select(EnrollmentSetting, Group)
        .join(setting_assignment, setting_assignment.c.setting_id == EnrollmentSetting.id)
        .join(Group, Group.id == setting_assignment.c.group_id)
        .join(group_membership, group_membership.c.group_id == Group.id)
        .where(group_membership.c.user_id == user.id)
        .order_by(EnrollmentSetting.priority, EnrollmentSetting.id, Group.name)
        .limit(1)
    ).first()
    if row is not None:
        setting, group = row
        return EffectiveSetting(setting.enrollment_type, setting.device_owner, setting, group)
    default = db.session.scalar(
        sa.select(EnrollmentSetting)
        .where(EnrollmentSetting.is_default.is_(True))
        .order_by(EnrollmentSetting.priority, EnrollmentSetting.id)
        .limit(1)
    )
    if default is not None:
        return EffectiveSetting(default.enrollment_type, default.device_owner, default)
    return BUILTIN_SETTING


def user_facts(user: User, setting: EffectiveSetting | None = None) -> policy.UserFacts:
    setting = setting or effective_setting(user)
    return policy.UserFacts(
        setting_type=policy.EnrollmentType(setting.enrollment_type),
        has_managed_apple_id=bool(user.managed_apple_id),
        source=str(user.source),
        has_device_management_role=bool(user.device_role),
    )


def org_facts(org: Organization | None) -> policy.OrgFacts:
    if org is None:
        return policy.OrgFacts(abm_linked=False, abm_organization=None, vpp_token_organization=None)
    return policy.OrgFacts(
        abm_linked=bool(org.abm_linked),
        abm_organization=org.abm_organization_name,
        vpp_token_organization=org.vpp_token_organization,
    )


def previous_enrollment_type(user: User, platform: str) -> EnrollmentType | None:
    """The type of the user's first completed enrollment on `platform`, if any.

    Only devices that were enrolled at some point count: a device row still waiting for its
    profile was never an enrollment to keep. The decision uses it only for a device the person
    says they are enrolling again (`explain(reenrolling=...)`), never for a new device.
    """
    return db.session.scalar(
        sa.select(Device.enrollment_type)
        .where(
            Device.user_id == user.id,
            Device.platform == platform,
            Device.enrolled_at.is_not(None),
        )
        .order_by(Device.enrolled_at, Device.id)
        .limit(1)
    )


def parse_platform(value: object) -> policy.Platform:
    try:
        return policy.Platform(str(value).strip().lower())
    except ValueError as exc:
        raise InvalidPlatform() from exc


def parse_channel(value: object) -> policy.Channel:
    try:
        return policy.Channel(str(value).strip().lower())
    except ValueError as exc:
        raise InvalidChannel() from exc


def parse_os_version(value: object) -> policy.Version:
    """ "17.4" or (17, 4) → (17, 4); InvalidOsVersion otherwise."""
    if isinstance(value, tuple) and value and all(isinstance(n, int) and n >= 0 for n in value):
        return value
    text = str(value or "")
    if len(text.strip()) > MAX_VERSION_LENGTH:
        raise InvalidOsVersion()
    try:
        return policy.parse_version(text)
    except ValueError as exc:
        raise InvalidOsVersion() from exc


def explain(
    user: User,
    *,
    platform: str,
    os_version: str | policy.Version,
    supervised: bool = False,
    channel: str = "web",
    record: bool = False,
    actor: User | None = None,
    via: str = "web",
    mam_applied: bool = False,
    authenticator_only_match: bool = False,
    reenrolling: Device | None = None,
    setting: EffectiveSetting | None = None,
    org: Organization | None = None,
) -> policy.Decision:
    """Decide which enrollment applies to `user` on this device, and why.

    :param platform: ios, ipados or macos.
    :param os_version: "17.4" or a tuple of ints.
    :param channel: how the device enrolls (web, account, ade, configurator).
    :param record: keep the decision in `enrollment_decision` (flushed; the caller commits),
        with `actor` (who asked; None for the device or the system) and `via` (web, slack,
        cli, mdm). Previews leave it False.
    :param reenrolling: one of the person's listed devices they are enrolling again; it keeps
        the type of its first enrollment (SPEC §1). None for a new device, which gets what
        the person's setting gives today.
    :param setting, org: the person's effective setting and organization when the caller
        already has them (several decisions for one person load them once); else loaded.
    :raise InvalidPlatform, InvalidOsVersion, InvalidChannel: before anything is decided.
    """
    device_platform = parse_platform(platform)
    version = parse_os_version(os_version)
    device_channel = parse_channel(channel)
    setting = setting or effective_setting(user)
    device = policy.DeviceFacts(
        platform=device_platform,
        os_version=version,
        supervised=bool(supervised),
        channel=device_channel,
        mam_applied=mam_applied,
        authenticator_only_match=authenticator_only_match,
        previous_enrollment_type=_policy_type(reenrolled_type(user, device_platform, reenrolling)),
    )
    if org is None:
        org = db.session.get(Organization, user.org_id)
    decision = policy.decide(user_facts(user, setting), device, org_facts(org))
    if record:
        db.session.add(
            EnrollmentDecision(
                user_id=user.id,
                platform=device_platform.value,
                os_version=".".join(str(n) for n in version),
                supervised=bool(supervised),
                channel=device_channel.value,
                enrollment_type=decision.type.value,
                enrollment_method=decision.method.value,
                reason_codes=list(decision.reason_codes),
                actor_id=actor.id if actor is not None else None,
                asked_via=via,
            )
        )
        db.session.flush()
    return decision


@dataclass(frozen=True)
class Preview:
    """What a person would get on one device: as a new device, and as each of their listed
    devices enrolling again."""

    new_device: policy.Decision
    reenrolling: list[tuple[Device, policy.Decision]]
    setting: EffectiveSetting


def preview(
    user: User,
    *,
    platform: str,
    os_version: str | policy.Version,
    supervised: bool = False,
    channel: str = "web",
) -> Preview:
    """Both cases of the helpdesk's decision preview; nothing is recorded.

    The same device facts for each listed device enrolling again (it keeps its type): one
    decision per enrollment type, however many devices the person lists. The person's
    setting and organization are loaded once for all of them.

    :raise InvalidPlatform, InvalidOsVersion, InvalidChannel: like `explain`.
    """
    setting = effective_setting(user)
    facts = {
        "platform": platform,
        "os_version": os_version,
        "supervised": supervised,
        "channel": channel,
        "setting": setting,
        "org": db.session.get(Organization, user.org_id),
    }
    new_device = explain(user, **facts)
    by_type: dict[str, policy.Decision] = {}
    reenrolling = []
    for listed in journey.listed_devices(user, platform):
        kind = str(listed.enrollment_type)
        if kind not in by_type:
            by_type[kind] = explain(user, **facts, reenrolling=listed)
        reenrolling.append((listed, by_type[kind]))
    return Preview(new_device, reenrolling, setting)


def reenrolled_type(user: User, platform: str, device: Device | None) -> EnrollmentType | None:
    """The type `device` keeps when enrolled again: its own, if it was ever enrolled, it is
    the person's and on this platform; otherwise None (it enrolls as a new device)."""
    if device is None or device.user_id != user.id or device.enrolled_at is None:
        return None
    if str(device.platform) != str(platform):
        return None
    return EnrollmentType(device.enrollment_type)


def _policy_type(value: EnrollmentType | str | None) -> policy.EnrollmentType | None:
    return policy.EnrollmentType(str(value)) if value is not None else None
