"""What the portal does when a device enrolls, answers a command, or its person changes
groups: configurations and required apps are sent, their progress followed, Declarative
Device Management turned on. Connected to `portal.signals` and to group membership changes.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from .. import signals
from ..apps import self_service
from ..apps import service as apps_service
from ..devices.configurations import ConfigurationUnavailable
from ..directory import service as directory
from ..enrollment import profile_service
from ..extensions import db
from ..mdm import declarative
from ..models import Device, Group, User, utcnow
from . import answers, deploy

log = logging.getLogger(__name__)

CHANGED_MEMBERS = "configurations.changed_members"
GROUP_DELETED = "configurations.group_deleted"


def mdm_settings() -> profile_service.MDMSettings:
    return profile_service.MDMSettings.from_config(current_app.config)


def sync(device: Device) -> None:
    """Send what `device` lacks; a portal that cannot sign profiles logs it and carries on."""
    try:
        deploy.sync_device(
            device, settings=mdm_settings(), secret_key=current_app.config["SECRET_KEY"]
        )
    except ConfigurationUnavailable:
        log.error("configurations not sent to device %s: profiles cannot be signed", device.id)


def _org():
    try:
        return directory.organization()
    except directory.NoOrganization:
        return None


def _guarded(step, *args, **kwargs) -> None:
    """Run one step in a savepoint: its failure is logged, never the enrollment's."""
    try:
        with db.session.begin_nested():
            step(*args, **kwargs)
    except Exception:
        log.exception("device %s: %s failed after enrollment", args[0].id, step.__name__)


def on_enrolled(device: Device, now=None, **_extra) -> None:
    _guarded(sync, device)
    _guarded(
        self_service.install_required,
        device,
        org=_org(),
        client=apps_service.apple_client(current_app.config),
    )
    if current_app.config.get("MDM_DECLARATIVE_STATUS"):
        _guarded(declarative.enable, device, now or utcnow())


def on_answer(device: Device, command=None, **_extra) -> None:
    if command is None:
        return
    answers.command_answered(device, command)
    self_service.command_answered(device, command)


def _note_member_change(target, value, initiator) -> None:
    user = target if isinstance(target, User) else value
    session = sa.inspect(user).session or db.session
    session.info.setdefault(CHANGED_MEMBERS, set()).add(user)


def _note_deleted_groups(session: Session, _context, _instances) -> None:
    # A deleted group's memberships go by a bulk delete: its members are not known here.
    if any(isinstance(obj, Group) for obj in session.deleted):
        session.info[GROUP_DELETED] = True


def _sync_changed_members(session: Session) -> None:
    users = session.info.pop(CHANGED_MEMBERS, None)
    everyone = session.info.pop(GROUP_DELETED, False)
    if not (users or everyone) or not has_app_context():
        return
    if everyone:
        users = None  # every enrolled device
    else:
        users = [user for user in users if user.id is not None]
        if not users:
            return
    try:
        with session.begin_nested():
            deploy.sync_all(
                settings=mdm_settings(),
                secret_key=current_app.config["SECRET_KEY"],
                users=users,
                channel="system",
            )
    except Exception:  # a membership change must never fail for this
        log.exception("configurations not synced after a group change")


_connected = False


def init_app(app) -> None:
    """Connect the receivers (once per process: signals and mapper events are global)."""
    global _connected
    if _connected:
        return
    signals.device_enrolled.connect(on_enrolled, weak=False)
    signals.command_answered.connect(on_answer, weak=False)
    for attribute in (User.groups, Group.members):
        sa.event.listen(attribute, "append", _note_member_change)
        sa.event.listen(attribute, "remove", _note_member_change)
    sa.event.listen(Session, "before_flush", _note_deleted_groups)
    sa.event.listen(Session, "before_commit", _sync_changed_members)
    _connected = True
