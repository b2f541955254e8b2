"""Sending configurations to devices. A Mac under User Enrollment never gets the
configurations the reference guide lists as unsupported: they are refused here, and the
refusal is written to the device's log for the admin ("Restrictions – this is not a valid
request type").

From the device page, the admin sends one of the passcode presets below: the device gets
a signed configuration profile through InstallProfile. The presets live as configurations
(`portal.configurations`, migrated in with their keys "work" and "strict"): the profile
carries the settings an admin last saved there; the constants below are what the migration
created, and the fallback when a preset's configuration was deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit
from ..enrollment import lifecycle, pki, profile_service
from ..extensions import db
from ..mdm import commands
from ..models import (
    Configuration,
    ConfigurationKind,
    DeliveryState,
    Device,
    DeviceConfiguration,
    DeviceLogEntry,
    DeviceStatus,
    EnrollmentType,
    MDMCommand,
    Platform,
    Role,
    User,
    utcnow,
)
from . import payloads
from .capabilities import MACOS_USER_ENROLLMENT_UNSUPPORTED, REASONS
from .service import ActionRefused, DeviceError, NotPermitted

log = logging.getLogger(__name__)

INVALID_REQUEST_TYPE = "Restrictions – this is not a valid request type"
LOG_ACTION = "configuration"
PASSCODE = "passcode"


class UnsupportedConfiguration(Exception):
    """Apple does not apply this configuration to this device; nothing was sent."""

    def __init__(self, device: Device, payload_type: str, entry: DeviceLogEntry) -> None:
        super().__init__(f"{payload_type}: {INVALID_REQUEST_TYPE}")
        self.device = device
        self.payload_type = payload_type
        self.entry = entry


class ConfigurationUnavailable(DeviceError):
    """The portal cannot sign configuration profiles until its MDM setup is fixed."""

    status = 503


@dataclass(frozen=True)
class PasscodePreset:
    key: str
    label: object  # a lazy string
    summary: object  # a lazy string
    settings: Mapping[str, Any]


# The reference guide's example for User Enrollment (forcePIN, allowSimple, minLength 6),
# and a stricter one for company devices.
PASSCODE_PRESETS = {
    preset.key: preset
    for preset in (
        PasscodePreset(
            "work",
            _l("Work passcode"),
            _l(
                "A passcode is required: at least 6 characters, not a simple one such as 1234 "
                "or 1111. After 10 failed attempts, an iPhone or iPad is erased and a Mac is "
                "locked."
            ),
            {"forcePIN": True, "allowSimple": False, "minLength": 6, "maxFailedAttempts": 10},
        ),
        PasscodePreset(
            "strict",
            _l("Strict passcode"),
            _l(
                "As the work passcode, with at least 8 characters including letters, and the "
                "screen locking after 5 minutes without use."
            ),
            {
                "forcePIN": True,
                "allowSimple": False,
                "minLength": 8,
                "requireAlphanumeric": True,
                "maxFailedAttempts": 10,
                "maxInactivity": 5,
            },
        ),
    )
}

MACOS_USER_ENROLLMENT_PASSCODE = _l(
    "Apple does not apply a passcode policy to a Mac enrolled with User Enrollment: the Mac "
    "would answer “Restrictions – this is not a valid request type”."
)
USER_ENROLLMENT_PASSCODE_NOTE = _l(
    "Under User Enrollment, an iPhone or iPad applies any passcode policy the same way: a "
    "passcode of at least 6 characters, not a simple one. The preset's other settings are "
    "ignored."
)


@dataclass(frozen=True)
class SentConfiguration:
    """What send_configuration did: the device-log entry, and the queued command if the
    configuration was built and sent."""

    entry: DeviceLogEntry
    command: MDMCommand | None = None


@dataclass(frozen=True)
class PasscodeAvailability:
    allowed: bool
    reason: object | None = None  # why not, in plain words
    note: object | None = None  # what the device will really apply


def is_supported(device: Device, payload_type: str) -> bool:
    mac_user_enrollment = (
        device.platform == Platform.MACOS and device.enrollment_type == EnrollmentType.USER
    )
    return not (mac_user_enrollment and payload_type in MACOS_USER_ENROLLMENT_UNSUPPORTED)


def _managed_reason(device: Device) -> str | None:
    """Why no configuration can be sent to `device` right now (a REASONS code), or None."""
    if device.enrollment_type == EnrollmentType.MAM:
        return "mam_no_device_control"
    if device.status != DeviceStatus.ENROLLED:
        return "not_enrolled"
    return None


def passcode_availability(device: Device) -> PasscodeAvailability:
    """Whether the admin can apply a passcode policy to `device`, and what it will do."""
    if not is_supported(device, PASSCODE):
        return PasscodeAvailability(False, MACOS_USER_ENROLLMENT_PASSCODE)
    code = _managed_reason(device)
    if code:
        return PasscodeAvailability(False, REASONS[code])
    if device.enrollment_type == EnrollmentType.USER:
        return PasscodeAvailability(True, note=USER_ENROLLMENT_PASSCODE_NOTE)
    return PasscodeAvailability(True)


def last_sent(device: Device, payload_type: str) -> DeviceLogEntry | None:
    """The device-log entry of the last time `payload_type` was sent to `device`."""
    query = (
        sa.select(DeviceLogEntry)
        .where(DeviceLogEntry.device_id == device.id, DeviceLogEntry.action == LOG_ACTION)
        .order_by(DeviceLogEntry.id.desc())
        .limit(50)
    )
    for entry in db.session.scalars(query):
        details = entry.details or {}
        if details.get("payload_type") == payload_type and details.get("command_uuid"):
            return entry
    return None


def sign(settings: profile_service.MDMSettings, unsigned: bytes) -> bytes:
    """Sign as the enrollment profiles are (same signing identity, same chain)."""
    try:
        ca = profile_service.certificate_authority(settings)
        signer, key, chain = profile_service.signing_identity(settings, ca)
    except profile_service.ProfileUnavailable as exc:
        log.error("configuration profiles cannot be signed: %s", exc)
        raise ConfigurationUnavailable(
            "signing_unavailable",
            _l(
                "The portal cannot sign configuration profiles: its MDM setup is incomplete. "
                "The server log says what is missing."
            ),
        ) from exc
    return pki.sign_profile(unsigned, signer, key, chain)


def preset_configuration(preset_key: str | None) -> Configuration | None:
    """The passcode configuration that holds preset `preset_key` (as the admin last edited it)."""
    if not preset_key:
        return None
    return db.session.scalar(
        sa.select(Configuration).where(
            Configuration.preset == preset_key, Configuration.kind == ConfigurationKind.PASSCODE
        )
    )


def _passcode_profile(
    device: Device, preset_key: str | None, settings: profile_service.MDMSettings
) -> tuple[bytes, dict]:
    preset = PASSCODE_PRESETS.get(preset_key or "")
    if preset is None:
        raise DeviceError("unknown_preset", _l("Choose one of the passcode policies."))
    configuration = preset_configuration(preset.key)
    values = dict(configuration.settings) if configuration is not None else preset.settings
    version = f"{preset.key}-{configuration.version}" if configuration is not None else preset.key
    locale = device.user.locale if device.user else None
    with force_locale(locale) if locale else nullcontext():
        display_name = _("%(org)s – passcode policy", org=settings.organization)
        # Not the preset's summary: that is written for admins, and under User Enrollment
        # the device ignores most of it.
        description = _("%(org)s requires a passcode on this device.", org=settings.organization)
    platform, enrollment = str(device.platform), str(device.enrollment_type)
    unsigned = payloads.build_passcode_profile(
        settings.profile_prefix,
        values,
        version=version,
        organization=settings.organization,
        display_name=display_name,
        description=description,
        platform=platform,
        enrollment=enrollment,
    )
    details = {
        "preset": preset.key,
        "identifier": payloads.configuration_identifier(settings.profile_prefix, PASSCODE),
    }
    _applied, ignored = payloads.split_ignored(
        payloads.PASSCODE_PAYLOAD_TYPE, preset.settings, platform=platform, enrollment=enrollment
    )
    if ignored:
        # Apple's schema: the device would ignore these; they are left out, and the log
        # says so (the page's note says the same in plain words).
        details["left_out_ignored"] = sorted(ignored)
    if configuration is not None:
        details["configuration_id"] = configuration.id
        details["version"] = configuration.version
    return unsigned, details


def _record_on_device(device: Device, details: dict, command: MDMCommand) -> None:
    """The device page lists what was sent from it, with its state, like assigned ones."""
    configuration = db.session.get(Configuration, details.get("configuration_id") or 0)
    if configuration is None:
        return
    row = db.session.scalar(
        sa.select(DeviceConfiguration).where(
            DeviceConfiguration.device_id == device.id,
            DeviceConfiguration.identifier == configuration.identifier,
        )
    )
    if row is None:
        row = DeviceConfiguration(device=device, identifier=configuration.identifier)
        db.session.add(row)
    row.configuration_id = configuration.id
    row.name, row.kind, row.version = configuration.name, configuration.kind, configuration.version
    row.state, row.command_uuid, row.error = DeliveryState.PENDING, command.uuid, None
    row.assigned, row.updated_at = False, utcnow()


# payload type → builder of its unsigned profile (and what the log keeps about it).
BUILDERS = {PASSCODE: _passcode_profile}


def send_configuration(
    device: Device,
    payload_type: str,
    *,
    actor: User | None,
    settings: profile_service.MDMSettings | None = None,
    preset: str | None = None,
    channel: str = "web",
) -> SentConfiguration:
    """Send `payload_type` to `device`, or refuse it.

    A configuration with a builder (the passcode policy, with `preset`) is built, signed
    and queued as InstallProfile; the others are only accepted in the log for now.
    Only admins send configurations (`actor` None is the portal itself). Either way a
    device-log entry is added to the session; the caller commits (also after a refusal of
    an unsupported configuration, so that the admin sees it).

    :raise NotPermitted: the actor is not an admin.
    :raise UnsupportedConfiguration: a Mac under User Enrollment (logged and audited).
    :raise ActionRefused: the device is not enrolled, or only its apps are managed.
    :raise DeviceError: an unknown preset.
    :raise ConfigurationUnavailable: the portal cannot sign profiles.
    """
    if actor is not None and not actor.has_role(Role.ADMIN):
        raise NotPermitted(
            "not_permitted", _l("Only an administrator can send a configuration to a device.")
        )
    if not is_supported(device, payload_type):
        entry = lifecycle.log(
            device,
            LOG_ACTION,
            {"payload_type": payload_type, "message": INVALID_REQUEST_TYPE},
        )
        entry.status = "error"
        audit.record(
            actor,
            "device.configuration.refused",
            channel=channel,
            target=device,
            after={"payload_type": payload_type, "reason": INVALID_REQUEST_TYPE},
        )
        raise UnsupportedConfiguration(device, payload_type, entry)
    builder = BUILDERS.get(payload_type)
    if builder is None:
        entry = lifecycle.log(
            device, LOG_ACTION, {"payload_type": payload_type, "message": "accepted"}
        )
        audit.record(
            actor,
            "device.configuration.accepted",
            channel=channel,
            target=device,
            after={"payload_type": payload_type},
        )
        return SentConfiguration(entry)
    code = _managed_reason(device)
    if code:
        raise ActionRefused(code, REASONS[code])
    if settings is None:
        raise ValueError("sending a configuration profile needs the MDM settings")
    unsigned, details = builder(device, preset, settings)
    signed = sign(settings, unsigned)
    try:
        command = commands.queue(
            device, "InstallProfile", {"Payload": signed}, actor=actor, channel=channel
        )
    except commands.CommandError as exc:
        raise ActionRefused("not_enrolled", REASONS["not_enrolled"]) from exc
    details = {"payload_type": payload_type, **details, "command_uuid": command.uuid}
    _record_on_device(device, details, command)
    entry = lifecycle.log(device, LOG_ACTION, {**details, "message": "sent"})
    audit.record(actor, "device.configuration.sent", channel=channel, target=device, after=details)
    return SentConfiguration(entry, command)
