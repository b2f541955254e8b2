"""Work apps for employees: the apps offered to their groups, installed on their own enrolled
device by themselves, or by the portal on enrollment when a group requires them.

The install goes through the same licence rules as an admin's (`service.install`): user-based
licences first come, first served; device-based ones refused under User Enrollment. Its
progress follows the device's answers: InstallApplication's State, then
ManagedApplicationList (or the DDM status channel's app.managed.list) until the app is
managed and installed. Callers commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..enrollment import lifecycle
from ..extensions import db
from ..mdm import commands
from ..models import (
    App,
    AppInstallState,
    AppOffer,
    CommandStatus,
    Device,
    DeviceApp,
    DeviceStatus,
    EnrollmentType,
    Group,
    MDMCommand,
    Organization,
    User,
    group_membership,
    utcnow,
)
from . import licences, service
from .client import AppsAndBooksClient

log = logging.getLogger(__name__)

# InstallApplication's and ManagedApplicationList's states, by what the person sees.
INSTALLED_STATES = {"Managed"}
FAILED_STATES = {
    "UserRejected",
    "ManagementRejected",
    "Failed",
    "UpdateRejected",
    "ManagedButUninstalled",
    "UserInstalledApp",
}
DDM_INSTALLED = {"managed"}
DDM_FAILED = {"failed", "managed-but-uninstalled"}
# How many ManagedApplicationList polls an installing app gets before waiting for DDM or Idle.
MAX_POLLS = 20

STATE_LABELS = {
    AppInstallState.REQUESTED: _l("Waiting for the device"),
    AppInstallState.INSTALLING: _l("Installing"),
    AppInstallState.INSTALLED: _l("Installed"),
    AppInstallState.FAILED: _l("Failed"),
}


class NotOffered(service.InstallRefused):
    pass


def _refuse_not_offered() -> NotOffered:
    return NotOffered(
        "not_offered", _l("This app is not offered to you. Ask your IT team."), status=404
    )


def _offers_query(user: User):
    in_groups = sa.select(group_membership.c.group_id).where(group_membership.c.user_id == user.id)
    return sa.select(AppOffer).where(
        sa.or_(AppOffer.group_id.is_(None), AppOffer.group_id.in_(in_groups))
    )


@dataclass
class Offer:
    app: App
    required: bool


def offers_for(user: User) -> list[Offer]:
    """The apps offered to `user` (by group or to everyone), each once; required wins."""
    found: dict[int, Offer] = {}
    for offer in db.session.scalars(_offers_query(user)):
        current = found.get(offer.app_id)
        if current is None:
            found[offer.app_id] = Offer(offer.app, offer.required)
        elif offer.required:
            current.required = True
    return sorted(found.values(), key=lambda o: (o.app.name.casefold(), o.app.id))


def is_offered(user: User, app: App) -> bool:
    return any(offer.app.id == app.id for offer in offers_for(user))


def devices_of(user: User) -> list[Device]:
    """The person's enrolled devices that can get apps."""
    return list(
        db.session.scalars(
            sa.select(Device)
            .where(
                Device.user_id == user.id,
                Device.status == DeviceStatus.ENROLLED,
                Device.enrollment_type != EnrollmentType.MAM,
            )
            .order_by(Device.id)
        )
    )


def states_for(devices: list[Device]) -> dict[tuple[int, int], DeviceApp]:
    """Each (device id, app id) → its installation, for these devices."""
    ids = [device.id for device in devices]
    if not ids:
        return {}
    rows = db.session.scalars(sa.select(DeviceApp).where(DeviceApp.device_id.in_(ids)))
    return {(row.device_id, row.app_id): row for row in rows}


def refusal(user: User, device: Device, app: App) -> str | None:
    """Why `user` cannot install `app` on `device`, in words, or None."""
    try:
        service.check(user, device, app, self_service=True)
    except service.InstallRefused as exc:
        return str(exc)
    return None


def install_own(
    user: User,
    device: Device,
    app: App,
    *,
    org: Organization | None,
    client: AppsAndBooksClient | None = None,
) -> service.InstallOutcome:
    """`user` installs an app offered to them on their own enrolled device.

    :raise InstallRefused: not their device, not offered to them, or Apple's rules forbid it.
    """
    if device.user_id != user.id:
        raise service.InstallRefused(
            "not_your_device", _l("This is not one of your devices."), status=404
        )
    if not is_offered(user, app):
        raise _refuse_not_offered()
    return service.install(
        user, device, app, org=org, client=client, self_service=True, origin="self"
    )


def install_required(
    device: Device, *, org: Organization | None, client: AppsAndBooksClient | None = None
) -> list[service.InstallOutcome]:
    """Install on a just-enrolled device the apps its person's groups require."""
    outcomes = []
    for offer in offers_for(device.user):
        if not offer.required:
            continue
        app = offer.app
        if device.platform not in licences.platforms_of(app):
            continue
        try:
            service.check(None, device, app)
        except service.InstallRefused as exc:
            lifecycle.log(device, "app.required.refused", {"app": app.adam_id, "reason": exc.code})
            continue
        outcomes.append(service.install(None, device, app, org=org, client=client,
                                        channel="system", origin="required"))  # fmt: skip
    return outcomes


# --- the device's answers ---------------------------------------------------------------------


def _row_for(device: Device, command: MDMCommand) -> DeviceApp | None:
    return db.session.scalar(
        sa.select(DeviceApp).where(
            DeviceApp.device_id == device.id, DeviceApp.command_uuid == command.uuid
        )
    )


def _poll(device: Device, row: DeviceApp) -> None:
    polls = (row.error or {}).get("polls", 0) if row.state == AppInstallState.INSTALLING else 0
    if polls >= MAX_POLLS or not row.bundle_id:
        return
    command = commands.queue(
        device,
        "ManagedApplicationList",
        {"Identifiers": [row.bundle_id]},
        actor=None,
        channel="system",
    )
    row.error = {"polls": polls + 1, "poll_uuid": command.uuid}


def _apply_state(device: Device, row: DeviceApp, state: str | None, reason: str | None) -> None:
    now = utcnow()
    if state in INSTALLED_STATES:
        if row.state != AppInstallState.INSTALLED:
            row.state, row.error, row.updated_at = AppInstallState.INSTALLED, None, now
            lifecycle.log(
                device, "app.installed", {"app": row.app.adam_id, "bundle_id": row.bundle_id}
            )
    elif state in FAILED_STATES:
        row.state, row.updated_at = AppInstallState.FAILED, now
        row.error = {"State": state, **({"RejectionReason": reason} if reason else {})}
        lifecycle.log(device, "app.install.failed", {"app": row.app.adam_id, "state": state})
    else:
        if row.state != AppInstallState.INSTALLING:
            row.state, row.updated_at = AppInstallState.INSTALLING, now
        _poll(device, row)


def command_answered(device: Device, command: MDMCommand) -> None:
    """Follow an app's installation through the device's answers."""
    if command.request_type == "InstallApplication":
        row = _row_for(device, command)
        if row is None:
            return
        result = command.result or {}
        if command.status == CommandStatus.ACKNOWLEDGED:
            bundle = result.get("Identifier")
            if isinstance(bundle, str) and bundle:
                row.bundle_id = bundle[:200]
            _apply_state(device, row, result.get("State"), result.get("RejectionReason"))
        elif command.status in (CommandStatus.ERROR, CommandStatus.FORMAT_ERROR):
            row.state, row.updated_at = AppInstallState.FAILED, utcnow()
            row.error = dict(result)
            lifecycle.log(device, "app.install.failed", {"app": row.app.adam_id})
    elif command.request_type == "ManagedApplicationList":
        if command.status != CommandStatus.ACKNOWLEDGED:
            return
        listed = (command.result or {}).get("ManagedApplicationList") or {}
        if not isinstance(listed, dict):
            return
        rows = db.session.scalars(
            sa.select(DeviceApp).where(
                DeviceApp.device_id == device.id, DeviceApp.bundle_id.in_(list(listed)[:500])
            )
        )
        for row in rows:
            if row.state in (AppInstallState.INSTALLED, AppInstallState.FAILED):
                continue
            info = listed.get(row.bundle_id) or {}
            _apply_state(device, row, info.get("Status"), None)


def managed_apps_reported(device: Device, apps: list) -> None:
    """The DDM status channel's app.managed.list: installed (or failed) apps."""
    by_bundle = {
        item.get("identifier"): item
        for item in apps
        if isinstance(item, dict) and isinstance(item.get("identifier"), str)
    }
    if not by_bundle:
        return
    rows = db.session.scalars(
        sa.select(DeviceApp).where(
            DeviceApp.device_id == device.id, DeviceApp.bundle_id.in_(list(by_bundle)[:500])
        )
    )
    now = utcnow()
    for row in rows:
        item = by_bundle[row.bundle_id]
        if item.get("_removed"):
            continue
        state = item.get("state")
        if state in DDM_INSTALLED and row.state != AppInstallState.INSTALLED:
            row.state, row.error, row.updated_at = AppInstallState.INSTALLED, None, now
            lifecycle.log(
                device, "app.installed", {"app": row.app.adam_id, "bundle_id": row.bundle_id}
            )
        elif state in DDM_FAILED and row.state != AppInstallState.FAILED:
            row.state, row.error, row.updated_at = AppInstallState.FAILED, {"state": state}, now


# --- offering apps to groups (admins) -----------------------------------------------------------


def offers_of(app: App) -> list[AppOffer]:
    return list(
        db.session.scalars(
            sa.select(AppOffer)
            .outerjoin(Group, Group.id == AppOffer.group_id)
            .where(AppOffer.app_id == app.id)
            .order_by(AppOffer.group_id.is_not(None), Group.name)
        )
    )


def offer(actor: User, app: App, group: Group | None, *, required: bool) -> AppOffer:
    """Offer `app` to `group` (None: everyone), optionally required; replaces an offer to
    the same group."""
    existing = db.session.scalar(
        sa.select(AppOffer).where(
            AppOffer.app_id == app.id,
            AppOffer.group_id.is_(None) if group is None else AppOffer.group_id == group.id,
        )
    )
    if existing is None:
        existing = AppOffer(app=app, group=group)
        db.session.add(existing)
    existing.required = required
    db.session.flush()
    audit.record(
        actor,
        "app.offered",
        target=app,
        after={"group": group.name if group else None, "required": required},
    )
    return existing


def withdraw(actor: User, offer_row: AppOffer) -> None:
    audit.record(
        actor,
        "app.offer_withdrawn",
        target=offer_row.app,
        before={"group": offer_row.group.name if offer_row.group else None},
    )
    db.session.delete(offer_row)
    db.session.flush()
