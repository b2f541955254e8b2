"""MDM check-in messages, dispatched by `MessageType` to one handler each.

Every handler validates the whole message before it changes anything. Under User
Enrollment a message carrying a hardware identifier (UDID, SerialNumber, IMEI, MEID) is
refused, and none of them is ever stored; under Device Enrollment they are. The secrets a
device hands over under Device Enrollment (an iPhone's UnlockToken, a Mac's bootstrap
token) are stored encrypted and forgotten at CheckOut.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import signals
from ..apple import secrets
from ..enrollment import lifecycle
from ..enrollment.lifecycle import IllegalTransition
from ..extensions import db
from ..models import Device, DeviceStatus, EnrollmentType, Platform
from . import facts, tokens
from .errors import Conflict, Declined, Forbidden, Malformed

log = logging.getLogger(__name__)

HARDWARE_KEYS = ("UDID", "SerialNumber", "IMEI", "MEID")
MAX_IDENTIFIER = 100
MAX_PUSH_TOKEN_BYTES = 100
# A real UnlockToken (an escrow keybag) is about 1.3 kB; bootstrap tokens are smaller.
MAX_SECRET_BYTES = 16 * 1024

Message = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """What a check-in was, and the property list to answer with (None: an empty body)."""

    kind: str
    body: dict[str, Any] | None = None


def text(
    device: Device, message: Message, key: str, *, required: bool, limit: int = MAX_IDENTIFIER
) -> str | None:
    """The string at `key`, stripped; Malformed when required and missing, or not a string."""
    value = message.get(key)
    if value is None:
        if required:
            raise Malformed(f"{key}_missing", device=device)
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Malformed(f"{key}_invalid", device=device)
    return value.strip()


def is_user_enrollment(device: Device) -> bool:
    return device.enrollment_type == EnrollmentType.USER


def identify(device: Device, message: Message) -> str:
    """The message's enrollment identifier (EnrollmentID under UE, UDID under DE).

    Refuses hardware identifiers under User Enrollment, and an identifier that differs
    from the one this enrollment already recorded.
    """
    if is_user_enrollment(device):
        present = [key for key in HARDWARE_KEYS if key in message]
        if present:
            raise Malformed(
                "hardware_identifier_under_user_enrollment", device=device, detail=",".join(present)
            )
        if "UnlockToken" in message:
            raise Malformed("unlock_token_under_user_enrollment", device=device)
        enrollment_id = text(device, message, "EnrollmentID", required=True)
        if device.enrollment_id is not None and device.enrollment_id != enrollment_id:
            raise Forbidden("enrollment_id_mismatch", device=device)
        return enrollment_id
    udid = text(device, message, "UDID", required=True)
    if device.udid is not None and device.udid != udid:
        raise Forbidden("udid_mismatch", device=device)
    return udid


def _check_topic(device: Device, message: Message) -> None:
    if message.get("Topic") != device.topic:
        raise Malformed("topic_mismatch", device=device)


def _claim_udid(device: Device, udid: str, now: datetime) -> None:
    """Free `udid` from older rows of the same physical device (re-enrollment)."""
    others = list(db.session.scalars(sa.select(Device).where(Device.udid == udid)))
    others = [other for other in others if other.id != device.id]
    for other in others:
        if other.status != DeviceStatus.UNENROLLED and other.user_id != device.user_id:
            raise Conflict("udid_enrolled_for_another_user", device=device)
    for other in others:
        if other.status != DeviceStatus.UNENROLLED:
            lifecycle.transition(
                other,
                DeviceStatus.UNENROLLED,
                action="device.replaced",
                details={"replaced_by": device.id},
                now=now,
            )
            tokens.revoke_for_device(other, now)
        other.udid = None
        lifecycle.log(other, "device.identifiers_moved", {"to_device": device.id}, now=now)
    if others:
        db.session.flush()


def authenticate(device: Device, message: Message, now: datetime) -> None:
    """Authenticate: the device installed the profile; record who it is."""
    _check_topic(device, message)
    ident = identify(device, message)
    os_version = text(device, message, "OSVersion", required=False, limit=32)
    build = text(device, message, "BuildVersion", required=False, limit=32)
    product = text(device, message, "ProductName", required=False) or text(
        device, message, "Model", required=False
    )
    if device.status == DeviceStatus.AUTHENTICATED:
        return  # the same device again (identify checked it): nothing new
    if device.status != DeviceStatus.PROFILE_DOWNLOADED:
        raise IllegalTransition(device, DeviceStatus.AUTHENTICATED, "checkin.authenticate")
    details: dict[str, Any] = {}
    if is_user_enrollment(device):
        taken = db.session.scalar(
            sa.select(Device.id).where(Device.enrollment_id == ident, Device.id != device.id)
        )
        if taken is not None:
            raise Conflict("enrollment_id_in_use", device=device)
        device.enrollment_id = ident
    else:
        serial = text(device, message, "SerialNumber", required=False, limit=64)
        name = text(device, message, "DeviceName", required=False, limit=200)
        extra = {
            key.lower(): text(device, message, key, required=False) for key in ("IMEI", "MEID")
        }
        _claim_udid(device, ident, now)
        device.udid = ident
        device.serial_number = serial
        if name:
            device.name = name
        details = {"udid": ident, "serial_number": serial, **extra}
    if os_version:
        device.os_version = os_version
    if product:
        device.model = product
    details.update(os_version=os_version, build_version=build, product=product)
    details = {key: value for key, value in details.items() if value}
    lifecycle.transition(
        device, DeviceStatus.AUTHENTICATED, action="checkin.authenticate", details=details, now=now
    )


def _push_credentials(device: Device, message: Message) -> tuple[str, str]:
    token = message.get("Token")
    if not isinstance(token, bytes) or not 0 < len(token) <= MAX_PUSH_TOKEN_BYTES:
        raise Malformed("Token_invalid", device=device)
    magic = text(device, message, "PushMagic", required=True)
    return token.hex(), magic


def _secret_data(device: Device, message: Message, key: str) -> bytes | None:
    """The data at `key` (None when absent or empty), or Malformed."""
    value = message.get(key)
    if value is None or value == b"":
        return None
    if not isinstance(value, bytes) or len(value) > MAX_SECRET_BYTES:
        raise Malformed(f"{key}_invalid", device=device)
    return value


def _stored(secret_key: str, stored: str | None) -> bytes | None:
    if stored is None:
        return None
    try:
        return secrets.decrypt(secret_key, stored)
    except secrets.SecretUnreadable:
        return None  # SECRET_KEY changed: as good as none


def _keep_unlock_token(device: Device, token: bytes, secret_key: str, now: datetime) -> None:
    """Store the UnlockToken encrypted: ClearPasscode must send it back (Apple's schema)."""
    if _stored(secret_key, device.unlock_token) == token:
        return
    device.unlock_token = secrets.encrypt(secret_key, token)
    lifecycle.log(device, "unlock_token.stored", now=now)


def token_update(
    device: Device, message: Message, now: datetime, *, secret_key: str, ask_facts: bool = True
) -> None:
    """TokenUpdate: the device's push credentials; the first one completes enrollment (and,
    with `ask_facts`, queues the questions of portal.mdm.facts).

    Under Device Enrollment an iPhone or iPad may add its UnlockToken, kept encrypted.
    """
    _check_topic(device, message)
    identify(device, message)  # refuses an UnlockToken under User Enrollment
    push_token, push_magic = _push_credentials(device, message)
    if "EnrollmentUserID" in message or "UserID" in message:
        _user_channel(device, message, now)
        return
    unlock_token = _secret_data(device, message, "UnlockToken")
    if device.status == DeviceStatus.AUTHENTICATED:
        device.push_token, device.push_magic = push_token, push_magic
        lifecycle.transition(
            device, DeviceStatus.ENROLLED, action="checkin.token_update", details={}, now=now
        )
        if ask_facts:
            facts.queue_for_device(device, now)  # what the device is, as Apple lets us ask
        signals.device_enrolled.send(device, now=now)
    elif device.status == DeviceStatus.ENROLLED:
        if (device.push_token, device.push_magic) != (push_token, push_magic):
            device.push_token, device.push_magic = push_token, push_magic
            lifecycle.log(device, "push_token.updated", now=now)
    else:
        raise IllegalTransition(device, DeviceStatus.ENROLLED, "checkin.token_update")
    if unlock_token is not None:
        _keep_unlock_token(device, unlock_token, secret_key, now)


def _user_channel(device: Device, message: Message, now: datetime) -> None:
    """A macOS user-channel TokenUpdate: keeps EnrollmentUserID under User Enrollment."""
    if device.status != DeviceStatus.ENROLLED:
        raise IllegalTransition(device, DeviceStatus.ENROLLED, "checkin.user_token_update")
    if not is_user_enrollment(device):
        text(device, message, "UserID", required=True)
        return  # Device Enrollment: user-channel push tokens are not used yet
    user_id = text(device, message, "EnrollmentUserID", required=True)
    if device.enrollment_user_id == user_id:
        return
    device.enrollment_user_id = user_id
    lifecycle.log(device, "user_channel.enrolled", {"enrollment_user_id": user_id}, now=now)


def _bootstrap_device(device: Device, message: Message, action: str) -> None:
    """Checks of both bootstrap token messages: a Mac under Device Enrollment, enrolled."""
    _check_topic(device, message)
    identify(device, message)
    if is_user_enrollment(device):
        # Apple's schema: forbidden under User Enrollment.
        raise Malformed("bootstrap_token_under_user_enrollment", device=device)
    if device.platform != Platform.MACOS:
        raise Malformed("bootstrap_token_not_macos", device=device)
    if device.status not in (DeviceStatus.AUTHENTICATED, DeviceStatus.ENROLLED):
        raise IllegalTransition(device, device.status, action)


def set_bootstrap_token(
    device: Device, message: Message, now: datetime, *, secret_key: str
) -> None:
    """SetBootstrapToken: keep the Mac's bootstrap token, encrypted; none or empty removes it."""
    _bootstrap_device(device, message, "checkin.set_bootstrap_token")
    token = _secret_data(device, message, "BootstrapToken")
    if token is None:
        if device.bootstrap_token is not None:
            device.bootstrap_token = None
            lifecycle.log(device, "bootstrap_token.removed", now=now)
        return
    if _stored(secret_key, device.bootstrap_token) == token:
        return
    device.bootstrap_token = secrets.encrypt(secret_key, token)
    lifecycle.log(device, "bootstrap_token.stored", now=now)


def get_bootstrap_token(
    device: Device, message: Message, now: datetime, *, secret_key: str
) -> dict[str, Any]:
    """GetBootstrapToken: the stored token, or an answer without one (Apple's schema makes
    `BootstrapToken` optional in the response)."""
    _bootstrap_device(device, message, "checkin.get_bootstrap_token")
    token = _stored(secret_key, device.bootstrap_token)
    if token is None and device.bootstrap_token is not None:
        log.error("the bootstrap token of device %s cannot be decrypted", device.id)
    lifecycle.log(device, "bootstrap_token.requested", {"found": token is not None}, now=now)
    return {"BootstrapToken": token} if token is not None else {}


def check_out(device: Device, message: Message, now: datetime) -> None:
    """CheckOut: the profile was removed; the enrollment ends and its credentials die."""
    _check_topic(device, message)
    identify(device, message)
    if device.status not in (DeviceStatus.AUTHENTICATED, DeviceStatus.ENROLLED):
        raise IllegalTransition(device, DeviceStatus.UNENROLLED, "checkin.check_out")
    lifecycle.transition(
        device, DeviceStatus.UNENROLLED, action="checkin.check_out", details={}, now=now
    )
    device.push_token = None
    device.push_magic = None
    # The device's secrets are useless and must not outlive the enrollment.
    device.unlock_token = None
    device.bootstrap_token = None
    tokens.revoke_for_device(device, now)


def user_authenticate(device: Device, message: Message, now: datetime) -> None:
    """UserAuthenticate: not supported; Apple expects 410 and carries on without it."""
    raise Declined("user_authenticate_declined", device=device)


def _plain(handler: Callable[[Device, Message, datetime], None]):
    """A handler that needs none of the options of `handle`."""

    def handle(device: Device, message: Message, now: datetime, **_options: Any) -> None:
        return handler(device, message, now)

    return handle


def _secrets_only(handler: Callable[..., dict[str, Any] | None]):
    def handle(device: Device, message: Message, now: datetime, *, secret_key: str, **_options):
        return handler(device, message, now, secret_key=secret_key)

    return handle


HANDLERS: dict[str, Callable[..., dict[str, Any] | None]] = {
    "Authenticate": _plain(authenticate),
    "TokenUpdate": token_update,
    "CheckOut": _plain(check_out),
    "UserAuthenticate": _plain(user_authenticate),
    "SetBootstrapToken": _secrets_only(set_bootstrap_token),
    "GetBootstrapToken": _secrets_only(get_bootstrap_token),
}


def handle(
    device: Device, message: Message, now: datetime, *, secret_key: str, ask_facts: bool = True
) -> Answer:
    """Dispatch a check-in by its MessageType. `secret_key` encrypts the tokens devices
    hand over (portal.apple.secrets); `ask_facts`: ask a device that completes its
    enrollment for its facts (portal.mdm.facts)."""
    kind = message.get("MessageType")
    if not isinstance(kind, str) or not kind:
        raise Malformed("MessageType_missing", device=device)
    handler = HANDLERS.get(kind)
    if handler is None:
        raise Malformed("MessageType_unknown", device=device)
    if not secret_key:
        raise ValueError("check-ins need the secret key that encrypts device tokens")
    answer = Answer(kind, handler(device, message, now, secret_key=secret_key, ask_facts=ask_facts))
    from .. import metrics

    metrics.checkin(kind)
    return answer
