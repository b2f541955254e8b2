"""Installing a catalogue app on a device, with its Apps & Books licence.

`install()` checks Apple's rules (a device-based licence never goes to a User-Enrolled
device; the Managed Apple ID and the location token must belong to the Apple Business Manager
organization), takes a licence first come first served, asks Apple to assign it when a
location token is set, and queues `InstallApplication`. A failed assignment is kept as an
admin notification. Callers commit in every case, failures included.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..apple import secrets, vpp_token
from ..domain import DomainError
from ..enrollment import lifecycle
from ..extensions import db
from ..mdm import commands
from ..models import (
    AdminNotification,
    App,
    AppInstallState,
    Device,
    DeviceApp,
    DeviceStatus,
    EnrollmentType,
    LicenceAssignment,
    LicenceType,
    MDMCommand,
    Organization,
    Platform,
    Role,
    User,
    utcnow,
)
from . import licences
from .client import AppsAndBooksClient, AppsAndBooksError

_CLIENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:byod-portal:apps-and-books")


class InstallRefused(DomainError):
    """Apple's rules or the device's state forbid this install; nothing was changed."""

    status = 409

    def __init__(self, code: str, message: object, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        if status is not None:
            self.status = status


REFUSALS = {
    "not_permitted": _l("Only administrators install apps on devices."),
    "not_enrolled": _l("The device is not enrolled: apps are installed once it is."),
    "not_managed": _l("This device is not managed by MDM: no app can be installed."),
    "wrong_platform": _l("This app is not made for this device's platform."),
    "device_licence_user_enrollment": _l(
        "Device-based licences cannot be used under User Enrollment: Apple assigns them to a "
        "serial number, which a User-Enrolled device never gives. Use user-based licences "
        "for this app."
    ),
    "no_managed_apple_id": _l(
        "This person has no Managed Apple ID: user-based licences are assigned to it."
    ),
}


@dataclass
class InstallOutcome:
    assignment: LicenceAssignment | None = None
    command: MDMCommand | None = None
    failure: AdminNotification | None = None
    reused: bool = False

    @property
    def ok(self) -> bool:
        return self.command is not None


def client_user_id(user: User) -> str:
    """The stable ID Apple knows this person by (Apple's `clientUserId`)."""
    return client_id_of(user.id)


def client_id_of(user_id: int) -> str:
    return str(uuid.uuid5(_CLIENT_NAMESPACE, f"user:{user_id}"))


def apple_client(config) -> AppsAndBooksClient | None:
    """A client for Apple's service when a location token is set (and readable), else None."""
    token = vpp_token.record()
    if token is None or not token.token:
        return None
    try:
        s_token = secrets.decrypt(config["SECRET_KEY"], token.token).decode()
    except secrets.SecretUnreadable:
        return None
    return AppsAndBooksClient(config.get("APPS_AND_BOOKS_URL") or "", s_token)


def _refuse(code: str) -> InstallRefused:
    return InstallRefused(code, REFUSALS[code], status=403 if code == "not_permitted" else None)


def check(actor: User | None, device: Device, app: App, *, self_service: bool = False) -> None:
    """Raise InstallRefused when `app` may not be installed on `device` by `actor`.

    Admins install on any device; with `self_service`, a person on their own device (the
    caller checks the app is offered to them); `actor` None is the portal itself (a required
    app on enrollment).
    """
    own = actor is not None and self_service and actor.id == device.user_id
    if actor is not None and not own and not actor.has_role(Role.ADMIN):
        raise _refuse("not_permitted")
    if device.enrollment_type == EnrollmentType.MAM:
        raise _refuse("not_managed")
    if device.status != DeviceStatus.ENROLLED:
        raise _refuse("not_enrolled")
    if device.platform not in licences.platforms_of(app):
        raise _refuse("wrong_platform")
    if app.licence_type == LicenceType.DEVICE and device.enrollment_type == EnrollmentType.USER:
        raise _refuse("device_licence_user_enrollment")
    if (
        app.licence_type == LicenceType.USER
        and device.enrollment_type == EnrollmentType.USER
        and not device.user.managed_apple_id
    ):
        raise _refuse("no_managed_apple_id")


def _org_mismatch(org: Organization | None) -> dict | None:
    if org is None or not org.vpp_token_organization or not org.abm_organization_name:
        return None
    if (
        org.vpp_token_organization.strip().casefold()
        == org.abm_organization_name.strip().casefold()
    ):
        return None
    return {"abm": org.abm_organization_name, "token": org.vpp_token_organization}


def _at_apple(client: AppsAndBooksClient, app: App, device: Device) -> None:
    if app.licence_type == LicenceType.DEVICE:
        client.associate(app.adam_id, serial_numbers=[device.serial_number or ""])
        return
    user = device.user
    client_id = client_user_id(user)
    client.create_user(client_id, managed_apple_id=user.managed_apple_id or "", email=user.email)
    client.associate(app.adam_id, client_user_ids=[client_id])


def install_payload(app: App, device: Device) -> dict:
    """The InstallApplication command's keys for `app` on `device` (a licensed store app)."""
    payload = {"iTunesStoreID": int(app.adam_id), "Options": {"PurchaseMethod": 1}}
    if device.platform != Platform.MACOS:
        payload["ManagementFlags"] = 1  # remove the app with the MDM profile
    return payload


def install(
    actor: User | None,
    device: Device,
    app: App,
    *,
    org: Organization | None,
    client: AppsAndBooksClient | None = None,
    channel: str = "web",
    self_service: bool = False,
    origin: str = "admin",
) -> InstallOutcome:
    """Assign a licence of `app` for `device` and queue its installation.

    The installation is followed on the device (`DeviceApp`) until it reports the app
    installed; `origin` says who asked ("admin", "self", "required").

    :raise InstallRefused: the rules forbid it (nothing written).
    :return: the outcome; `failure` set (an admin notification) when no licence could be had.
    """
    check(actor, device, app, self_service=self_service)
    user = device.user
    outcome = InstallOutcome()
    mismatch = _org_mismatch(org)
    if mismatch:
        outcome.failure = licences.notify(
            "licence_org_mismatch", app=app, user=user, device=device, details=mismatch
        )
        _log_failure(actor, device, app, "licence_org_mismatch", channel=channel)
        return outcome
    assignment = licences.existing(app, device)
    if assignment is not None:
        outcome.reused = True
    else:
        try:
            with db.session.begin_nested():
                assignment = licences.take(app, device)
                if assignment is not None and client is not None:
                    _at_apple(client, app, device)
        except AppsAndBooksError as exc:
            db.session.refresh(app)
            outcome.failure = licences.notify(
                "licence_apple_refused",
                app=app,
                user=user,
                device=device,
                details={"error": exc.message or exc.code, "error_code": exc.code},
            )
            _log_failure(
                actor, device, app, "licence_apple_refused", {"error_code": exc.code}, channel
            )
            return outcome
        if assignment is None:
            outcome.failure = licences.notify(
                "licence_none_left", app=app, user=user, device=device
            )
            _log_failure(actor, device, app, "licence_none_left", channel=channel)
            return outcome
        licences.resolve_for(app, user)
    outcome.assignment = assignment
    outcome.command = commands.queue(
        device, "InstallApplication", install_payload(app, device), actor=actor, channel=channel
    )
    track(device, app, outcome.command, origin=origin, actor=actor)
    details = {
        "app": app.adam_id,
        "licence_type": str(app.licence_type),
        "enrollment_type": str(device.enrollment_type),
        "assignment": assignment.id,
        "reused": outcome.reused,
    }
    lifecycle.log(device, "app.install.requested", details)
    audit.record(actor, "app.install", channel=channel, target=device, after=details)
    return outcome


def track(
    device: Device, app: App, command: MDMCommand, *, origin: str, actor: User | None
) -> DeviceApp:
    """Follow the installation of `app` on `device` from its InstallApplication command."""
    row = db.session.scalar(
        sa.select(DeviceApp).where(DeviceApp.device_id == device.id, DeviceApp.app_id == app.id)
    )
    if row is None:
        row = DeviceApp(device=device, app=app, origin=origin)
        db.session.add(row)
    row.state, row.command_uuid, row.error = AppInstallState.REQUESTED, command.uuid, None
    row.requested_by, row.updated_at = actor, utcnow()
    return row


def _log_failure(
    actor: User | None,
    device: Device,
    app: App,
    code: str,
    extra: dict | None = None,
    channel="web",
) -> None:
    details = {"app": app.adam_id, "reason": code, **(extra or {})}
    lifecycle.log(device, "licence.failed", details)
    audit.record(actor, "licence.failed", channel=channel, target=device, after=details)
