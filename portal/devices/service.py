"""The one place deciding what may be done to a device; the pages, the endpoints and the
Slack bot all ask it. Takes plain arguments (the actor included); callers commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..apple import secrets as apple_secrets
from ..enrollment import profile_service
from ..extensions import db
from ..mdm import commands
from ..models import (
    CommandStatus,
    Device,
    DeviceStatus,
    MDMCommand,
    Platform,
    Role,
    User,
)
from .capabilities import ACTION_LABELS, REASONS, REQUEST_TYPES, Action, forbidden_reason

MAX_NAME = 200
PENDING = (CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW)


class DeviceError(Exception):
    """A request about a device that cannot be honoured."""

    status = 400

    def __init__(self, code: str, message: object) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


class DeviceNotFound(DeviceError):
    status = 404


class ActionRefused(DeviceError):
    """The action is inactive for this device (Apple's rules, or not enrolled)."""

    status = 409


class NotPermitted(DeviceError):
    status = 403


@dataclass(frozen=True)
class ActionAvailability:
    action: Action
    request_type: str
    allowed: bool
    reason_code: str | None
    reason_text: object | None

    @property
    def label(self) -> object:
        return ACTION_LABELS[self.action]


def allowed_actions(device: Device) -> list[ActionAvailability]:
    """Every action, allowed or not (with the reason), for `device`."""
    result = []
    for action in Action:
        code = forbidden_reason(action, device.enrollment_type, device.platform)
        if code is None and device.status != DeviceStatus.ENROLLED:
            code = "not_enrolled"
        if code is None and action is Action.UNLOCK and device.unlock_token is None:
            code = "no_unlock_token"  # ClearPasscode without it is a format error
        result.append(
            ActionAvailability(
                action=action,
                request_type=REQUEST_TYPES[action],
                allowed=code is None,
                reason_code=code,
                reason_text=REASONS[code] if code else None,
            )
        )
    return result


def availability(device: Device, action: str) -> ActionAvailability:
    try:
        wanted = Action(action)
    except ValueError:
        raise DeviceNotFound("unknown_action", _l("No such action.")) from None
    return next(a for a in allowed_actions(device) if a.action is wanted)


def can_act(actor: User, device: Device) -> bool:
    """The owner acts on their own devices; admins on every device; helpdesk only reads."""
    return device.user_id == actor.id or actor.has_role(Role.ADMIN)


def devices_of(user: User) -> list[Device]:
    """The person's devices, except enrollments that were started and never finished."""
    query = (
        sa.select(Device)
        .where(Device.user_id == user.id, Device.status != DeviceStatus.EXPIRED)
        .order_by(Device.id)
    )
    return list(db.session.scalars(query))


def own_device(user: User, device_id: int) -> Device:
    """`user`'s device, or DeviceNotFound (another user's device is not found either)."""
    device = db.session.get(Device, device_id)
    if device is None or device.user_id != user.id:
        raise DeviceNotFound("not_found", _l("No such device."))
    return device


def _payload(device: Device, action: Action, settings: profile_service.MDMSettings) -> dict:
    if action is Action.REMOVE_WORK_DATA:
        return {"Identifier": profile_service.enrollment_profile_identifier(settings, device)}
    if action is Action.UNLOCK:
        # Apple requires the UnlockToken the device gave in its TokenUpdate.
        try:
            token = apple_secrets.decrypt(settings.secret_key, device.unlock_token or "")
        except apple_secrets.SecretUnreadable:
            raise ActionRefused(
                "unlock_token_unreadable", REASONS["unlock_token_unreadable"]
            ) from None
        return {"UnlockToken": token}
    if action in (Action.WIPE, Action.LOCK) and device.platform == Platform.MACOS:
        # Macs ask for this PIN to unlock after a remote lock or erase.
        return {"PIN": f"{secrets.randbelow(10**6):06d}"}
    return {}


def perform_action(
    device: Device,
    action: str,
    *,
    actor: User,
    settings: profile_service.MDMSettings,
    channel: str = "web",
) -> MDMCommand:
    """Queue the MDM command of `action` for `device`, if Apple's rules and the actor allow.

    `settings` names the enrollment profile that "Remove work data" removes.
    """
    if not can_act(actor, device):
        raise NotPermitted("not_permitted", _l("You may not act on this device."))
    choice = availability(device, action)
    if not choice.allowed:
        raise ActionRefused(choice.reason_code, choice.reason_text)
    try:
        command = commands.queue(
            device,
            choice.request_type,
            _payload(device, choice.action, settings),
            actor=actor,
            channel=channel,
        )
    except commands.CommandError as exc:
        raise ActionRefused("not_enrolled", REASONS["not_enrolled"]) from exc
    audit.record(
        actor,
        f"device.{choice.action.value}",
        channel=channel,
        target=device,
        after={"request_type": choice.request_type, "command_uuid": command.uuid},
    )
    return command


def recent_commands(device: Device, limit: int = 5) -> list[MDMCommand]:
    query = (
        sa.select(MDMCommand)
        .where(MDMCommand.device_id == device.id)
        .order_by(MDMCommand.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def has_pending(command_list: list[MDMCommand]) -> bool:
    return any(c.status in PENDING for c in command_list)


def rename(device: Device, name: str, *, actor: User, channel: str = "web") -> Device:
    """Change the name shown in the portal (never sent to the device); audited."""
    if not can_act(actor, device):
        raise NotPermitted("not_permitted", _l("You may not rename this device."))
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise DeviceError("name_required", _l("Give the device a name."))
    if len(cleaned) > MAX_NAME:
        raise DeviceError("name_too_long", _l("Use at most %(num)d characters.", num=MAX_NAME))
    before = device.name
    if cleaned != before:
        device.name = cleaned
        audit.record(
            actor,
            "device.renamed",
            channel=channel,
            target=device,
            before={"name": before},
            after={"name": cleaned},
        )
    return device
