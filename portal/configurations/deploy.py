"""Keeping each enrolled device's configurations in line with its person's groups.

`sync_device` compares what a device should have (the configurations assigned to everyone or
to one of its person's groups, for its system; of two that set the same thing the lowest
priority number wins) with what it was sent, and queues the difference: InstallProfile for a
new or changed configuration (same identifier, new version), RemoveProfile for one no longer
assigned, Apple's Settings command for a managed app configuration. A configuration Apple
does not apply to a Mac under User Enrollment is never sent: it is marked "not sent" with
"Restrictions – this is not a valid request type" in the device's log. The device's answers
move each one to installed or failed (portal.configurations.answers). Callers commit.
"""

from __future__ import annotations

import logging
import plistlib
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import audit
from ..devices import configurations as device_configurations
from ..enrollment import lifecycle, profile_service
from ..extensions import db
from ..mdm import commands
from ..models import (
    Configuration,
    ConfigurationKind,
    DeliveryState,
    Device,
    DeviceConfiguration,
    DeviceStatus,
    EnrollmentType,
    MDMCommand,
    Platform,
    User,
    configuration_group,
    group_membership,
    utcnow,
)
from . import applicability, kinds, sealing

log = logging.getLogger(__name__)

LOG_ACTION = device_configurations.LOG_ACTION
ACTIVE = (DeliveryState.PENDING, DeliveryState.INSTALLED, DeliveryState.FAILED)


def platform_of(device: Device) -> str:
    return "macos" if device.platform == Platform.MACOS else "ios"


def full_identifier(settings: profile_service.MDMSettings, configuration_identifier: str) -> str:
    return f"{settings.profile_prefix}.configuration.{configuration_identifier}"


def assigned_to(user: User) -> list[Configuration]:
    """The configurations assigned to everyone or to one of `user`'s groups."""
    in_groups = (
        sa.select(configuration_group.c.configuration_id)
        .join(group_membership, group_membership.c.group_id == configuration_group.c.group_id)
        .where(group_membership.c.user_id == user.id)
    )
    return list(
        db.session.scalars(
            sa.select(Configuration)
            .where(sa.or_(Configuration.everyone.is_(True), Configuration.id.in_(in_groups)))
            .order_by(Configuration.priority, Configuration.id)
        )
    )


@dataclass
class Plan:
    install: list[Configuration]
    not_sent: list[Configuration]
    # The configurations that lost to a higher-priority one setting the same thing.
    overridden: list[tuple[Configuration, Configuration]]


def plan(device: Device) -> Plan:
    """What `device` should have, by its person's groups and its system."""
    platform = platform_of(device)
    chosen: dict[str, Configuration] = {}
    result = Plan([], [], [])
    for configuration in assigned_to(device.user):
        if platform not in (configuration.platforms or []):
            continue
        spec = kinds.SPECS[ConfigurationKind(configuration.kind)]
        if (
            not device_configurations.is_supported(device, spec.macos_user_enrollment_name or "")
            or platform not in spec.platforms
        ):
            result.not_sent.append(configuration)
            continue
        key = kinds.conflict_key(configuration.kind, configuration.settings or {})
        if key in chosen:
            result.overridden.append((configuration, chosen[key]))
            continue
        chosen[key] = configuration
        result.install.append(configuration)
    return result


def _variables(user: User) -> dict[str, str]:
    return {
        "email": user.email,
        "name": user.display_name,
        "managed_apple_id": user.managed_apple_id or user.email,
    }


def _install_command(
    device: Device, configuration: Configuration, settings: profile_service.MDMSettings,
    secret_key: str,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    user = device.user
    if configuration.kind == ConfigurationKind.APP_CONFIG:
        return kinds.SETTINGS_COMMAND, kinds.settings_command(
            configuration.settings, variables=_variables(user)
        )
    identifier = full_identifier(settings, configuration.identifier)
    with force_locale(user.locale) if user.locale else nullcontext():
        description = _("%(org)s set this up for your work.", org=settings.organization)
    profile = applicability.build_profile(
        configuration.kind,
        configuration.settings or {},
        identifier=identifier,
        version=configuration.version,
        platform=platform_of(device),
        variables=_variables(user),
        display_name=configuration.name,
        organization=settings.organization,
        enrollment="user" if device.enrollment_type == EnrollmentType.USER else "device",
        description=description,
        secrets=sealing.open_secrets(secret_key, configuration),
    )
    unsigned = plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)
    return "InstallProfile", {"Payload": device_configurations.sign(settings, unsigned)}


def _remove_command(
    row: DeviceConfiguration, settings: profile_service.MDMSettings
) -> tuple[str, dict[str, Any]]:
    if row.kind == ConfigurationKind.APP_CONFIG:
        bundle = row.identifier.split(":", 1)[1] if ":" in row.identifier else row.identifier
        return kinds.SETTINGS_COMMAND, {
            "Settings": [{"Item": "ApplicationConfiguration", "Identifier": bundle}]
        }
    return "RemoveProfile", {"Identifier": full_identifier(settings, row.identifier)}


def _row_identifier(configuration: Configuration) -> str:
    if configuration.kind == ConfigurationKind.APP_CONFIG:
        return f"app_config:{configuration.settings.get('bundle_id', '')}"
    return configuration.identifier


def _rows(device: Device) -> dict[str, DeviceConfiguration]:
    return {
        row.identifier: row
        for row in db.session.scalars(
            sa.select(DeviceConfiguration).where(DeviceConfiguration.device_id == device.id)
        )
    }


def _log(device: Device, details: dict, status: str | None = None) -> None:
    entry = lifecycle.log(device, LOG_ACTION, details)
    if status:
        entry.status = status


def sync_device(
    device: Device,
    *,
    settings: profile_service.MDMSettings,
    secret_key: str,
    actor: User | None = None,
    channel: str = "system",
) -> list[MDMCommand]:
    """Queue what `device` needs to match its assignments; return the queued commands."""
    if device.status != DeviceStatus.ENROLLED or device.enrollment_type == EnrollmentType.MAM:
        return []
    wanted = plan(device)
    rows = _rows(device)
    queued: list[MDMCommand] = []
    now = utcnow()
    keep: set[str] = set()
    for configuration in wanted.install:
        identifier = _row_identifier(configuration)
        keep.add(identifier)
        row = rows.get(identifier)
        if (
            row is not None
            and row.configuration_id == configuration.id
            and row.version == configuration.version
            and row.state in ACTIVE
        ):
            row.assigned = True
            continue  # already sent (or failed: Apple's error stays until the next change)
        request_type, payload = _install_command(device, configuration, settings, secret_key)
        command = commands.queue(device, request_type, payload, actor=actor, channel=channel)
        if row is None:
            row = DeviceConfiguration(device=device, identifier=identifier)
            db.session.add(row)
            rows[identifier] = row
        row.configuration_id, row.assigned = configuration.id, True
        row.name, row.kind, row.version = (
            configuration.name,
            configuration.kind,
            configuration.version,
        )
        row.state, row.command_uuid, row.error, row.updated_at = (
            DeliveryState.PENDING, command.uuid, None, now,
        )  # fmt: skip
        details = {
            "payload_type": str(configuration.kind),
            "configuration": configuration.name,
            "identifier": identifier,
            "version": configuration.version,
            "command_uuid": command.uuid,
            "message": "sent",
        }
        if configuration.preset:
            details["preset"] = configuration.preset
        _log(device, details)
        queued.append(command)
    for configuration in wanted.not_sent:
        identifier = _row_identifier(configuration)
        row = rows.get(identifier)
        if (
            row is not None
            and row.state == DeliveryState.NOT_SENT
            and row.version == configuration.version
        ):
            continue
        if row is None:
            row = DeviceConfiguration(device=device, identifier=identifier)
            db.session.add(row)
            rows[identifier] = row
        row.configuration_id = configuration.id
        row.name, row.kind, row.version = (
            configuration.name,
            configuration.kind,
            configuration.version,
        )
        row.state, row.command_uuid, row.updated_at = DeliveryState.NOT_SENT, None, now
        row.error = {"message": applicability.INVALID_REQUEST_TYPE}
        _log(
            device,
            {
                "payload_type": str(configuration.kind),
                "configuration": configuration.name,
                "message": applicability.INVALID_REQUEST_TYPE,
            },
            status="error",
        )
        audit.record(
            actor,
            "device.configuration.refused",
            channel=channel,
            target=device,
            after={
                "configuration": configuration.name,
                "reason": applicability.INVALID_REQUEST_TYPE,
            },
        )
        keep.add(identifier)
    for identifier, row in rows.items():
        if identifier in keep or not row.assigned:
            continue  # wanted, or sent by an admin from the device page
        if row.state == DeliveryState.NOT_SENT or (
            row.state == DeliveryState.FAILED and row.error and not row.error.get("removal")
        ):
            db.session.delete(row)  # never installed: nothing to remove on the device
            continue
        if row.state not in (DeliveryState.PENDING, DeliveryState.INSTALLED):
            continue
        request_type, payload = _remove_command(row, settings)
        command = commands.queue(device, request_type, payload, actor=actor, channel=channel)
        row.state, row.command_uuid, row.updated_at = DeliveryState.REMOVING, command.uuid, now
        _log(
            device,
            {
                "payload_type": str(row.kind),
                "configuration": row.name,
                "identifier": identifier,
                "command_uuid": command.uuid,
                "message": "removed",
            },
        )
        queued.append(command)
    return queued


def enrolled_devices(users: Iterable[User] | None = None) -> list[Device]:
    query = sa.select(Device).where(
        Device.status == DeviceStatus.ENROLLED, Device.enrollment_type != EnrollmentType.MAM
    )
    if users is not None:
        ids = [user.id for user in users]
        if not ids:
            return []
        query = query.where(Device.user_id.in_(ids))
    return list(db.session.scalars(query.order_by(Device.id)))


def sync_all(
    *, settings: profile_service.MDMSettings, secret_key: str, actor: User | None = None,
    users: Iterable[User] | None = None, channel: str = "web",
) -> int:  # fmt: skip
    """Sync every enrolled device (of `users`); the number of commands queued.

    :raise ConfigurationUnavailable: profiles cannot be signed (what was queued before stays).
    """
    count = 0
    for device in enrolled_devices(users):
        count += len(
            sync_device(
                device, settings=settings, secret_key=secret_key, actor=actor, channel=channel
            )  # fmt: skip
        )
    return count


def device_rows(device: Device) -> list[DeviceConfiguration]:
    return list(
        db.session.scalars(
            sa.select(DeviceConfiguration)
            .where(DeviceConfiguration.device_id == device.id)
            .order_by(DeviceConfiguration.name)
        )
    )
