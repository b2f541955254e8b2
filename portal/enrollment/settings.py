"""Enrollment settings: their priority order and the groups they are assigned to (SPEC §1, §6).

The lowest `priority` number is the highest priority. The default setting (`is_default`)
applies to people in no assigned group: it is always last, is never assigned to a group, and
cannot be reordered or deleted.

Services take the acting user as an argument and never read the request. They flush but do
not commit: the caller commits once per form, or rolls back. On bad input they raise a
`SettingError` before anything is added to the session, so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..directory import groups
from ..directory.groups import get_group
from ..domain import DomainError
from ..extensions import db
from ..models import DeviceOwner, EnrollmentSetting, EnrollmentType, Group, User

MAX_NAME = 200
MAX_DESCRIPTION = 500
STEP = 10
# The Apple enrollment types a setting may choose (MAM is a device's state, not a setting).
SETTING_TYPES = (EnrollmentType.USER, EnrollmentType.DEVICE)


class SettingError(DomainError):
    """A settings change refused; `field` names the form field at fault, `status` the HTTP code."""

    field: str | None = None
    status = 400
    default_message = _l("That change to the enrollment settings cannot be made.")


class SettingNameRequired(SettingError):
    field = "name"
    default_message = _l("Enter a name for the setting.")


class SettingNameTooLong(SettingError):
    field = "name"
    default_message = _l("A setting name has at most 200 characters.")


class DescriptionTooLong(SettingError):
    field = "description"
    default_message = _l("A description has at most 500 characters.")


class DuplicateSettingName(SettingError):
    field = "name"
    status = 409
    default_message = _l("Another enrollment setting already has this name.")


class InvalidEnrollmentType(SettingError):
    field = "enrollment_type"
    default_message = _l("Choose User Enrollment or Device Enrollment.")


class InvalidDeviceOwner(SettingError):
    field = "device_owner"
    default_message = _l("Choose employee-owned or company-owned.")


class CompanyOwnedUserEnrollment(SettingError):
    field = "device_owner"
    default_message = _l(
        "User Enrollment is for employees' own devices: a company-owned device uses Device "
        "Enrollment. Choose employee-owned, or Device Enrollment."
    )


class UnknownSetting(SettingError):
    status = 404
    default_message = _l("That enrollment setting does not exist (any more).")


class DefaultSettingProtected(SettingError):
    status = 409
    default_message = _l(
        "The default setting applies to everyone in no assigned group: it cannot be deleted, "
        "moved or assigned to a group."
    )


class StaleOrder(SettingError):
    status = 409
    default_message = _l(
        "The list of settings changed since this page was loaded, so the new order was not "
        "saved. Here is the current order: try again."
    )


class UnknownGroup(SettingError):
    field = "group_id"
    status = 404
    default_message = _l("That group does not exist (any more).")


class AlreadyAssigned(SettingError):
    field = "group_id"
    status = 409
    default_message = _l("This setting is already assigned to that group.")


class NotAssigned(SettingError):
    status = 409
    default_message = _l("This setting is not assigned to that group (any more).")


def _ordered() -> sa.Select:
    return sa.select(EnrollmentSetting).order_by(
        EnrollmentSetting.is_default, EnrollmentSetting.priority, EnrollmentSetting.id
    )


def list_settings() -> list[EnrollmentSetting]:
    """Every setting, highest priority first; the default setting last."""
    return list(db.session.scalars(_ordered()))


def ranked_settings() -> list[EnrollmentSetting]:
    """The settings that can be reordered (all but the default), highest priority first."""
    return list(db.session.scalars(_ordered().where(EnrollmentSetting.is_default.is_(False))))


def get_setting(setting_id: int) -> EnrollmentSetting:
    """The setting with this id, or UnknownSetting."""
    setting = db.session.get(EnrollmentSetting, setting_id) if isinstance(setting_id, int) else None
    if setting is None:
        raise UnknownSetting()
    return setting


def snapshot(setting: EnrollmentSetting) -> dict:
    return {
        "name": setting.name,
        "description": setting.description,
        "enrollment_type": EnrollmentType(setting.enrollment_type).value,
        "device_owner": DeviceOwner(setting.device_owner).value,
        "priority": setting.priority,
        "is_default": setting.is_default,
    }


def _clean(name, description, enrollment_type, device_owner):
    name = " ".join((name or "").split())
    if not name:
        raise SettingNameRequired()
    if len(name) > MAX_NAME:
        raise SettingNameTooLong()
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise DescriptionTooLong()
    try:
        kind = EnrollmentType(enrollment_type)
    except ValueError as exc:
        raise InvalidEnrollmentType() from exc
    if kind not in SETTING_TYPES:
        raise InvalidEnrollmentType()
    try:
        owner = DeviceOwner(device_owner)
    except ValueError as exc:
        raise InvalidDeviceOwner() from exc
    if kind == EnrollmentType.USER and owner == DeviceOwner.COMPANY:
        raise CompanyOwnedUserEnrollment()
    return name, description, kind, owner


def _name_taken(name: str, *, other_than: int | None = None) -> bool:
    query = sa.select(EnrollmentSetting.id).where(
        sa.func.lower(EnrollmentSetting.name) == name.lower()
    )
    if other_than is not None:
        query = query.where(EnrollmentSetting.id != other_than)
    return db.session.scalar(query.limit(1)) is not None


def create_setting(
    actor: User | None,
    *,
    name: str,
    description: str = "",
    enrollment_type: EnrollmentType | str = EnrollmentType.DEVICE,
    device_owner: DeviceOwner | str = DeviceOwner.EMPLOYEE,
) -> EnrollmentSetting:
    """Create a setting at the bottom of the priority list (above the default).

    Audited as `setting.created`. Raises SettingNameRequired, SettingNameTooLong,
    DescriptionTooLong, DuplicateSettingName, InvalidEnrollmentType, InvalidDeviceOwner or
    CompanyOwnedUserEnrollment before changing anything.
    """
    name, description, kind, owner = _clean(name, description, enrollment_type, device_owner)
    if _name_taken(name):
        raise DuplicateSettingName()
    lowest = db.session.scalar(
        sa.select(sa.func.max(EnrollmentSetting.priority)).where(
            EnrollmentSetting.is_default.is_(False)
        )
    )
    setting = EnrollmentSetting(
        name=name,
        description=description,
        enrollment_type=kind,
        device_owner=owner,
        priority=(lowest or 0) + STEP,
        is_default=False,
    )
    try:
        with db.session.begin_nested():
            db.session.add(setting)
            db.session.flush()
    except IntegrityError as exc:
        raise DuplicateSettingName() from exc
    audit.record(actor, "setting.created", target=setting, after=snapshot(setting))
    db.session.flush()
    return setting


def update_setting(
    actor: User | None,
    setting_id: int,
    *,
    name: str,
    description: str,
    enrollment_type: EnrollmentType | str,
    device_owner: DeviceOwner | str,
) -> EnrollmentSetting:
    """Change a setting's name, description, enrollment type and device owner.

    The default setting can be edited too (it stays the default). Audited as
    `setting.updated` with before and after; changing nothing records nothing. Raises
    UnknownSetting and the errors of `create_setting`.
    """
    setting = get_setting(setting_id)
    name, description, kind, owner = _clean(name, description, enrollment_type, device_owner)
    if _name_taken(name, other_than=setting.id):
        raise DuplicateSettingName()
    before = snapshot(setting)
    try:
        with db.session.begin_nested():
            setting.name = name
            setting.description = description
            setting.enrollment_type = kind
            setting.device_owner = owner
            db.session.flush()
    except IntegrityError as exc:
        db.session.refresh(setting)
        raise DuplicateSettingName() from exc
    after = snapshot(setting)
    if after != before:
        audit.record(actor, "setting.updated", target=setting, before=before, after=after)
        db.session.flush()
    return setting


def delete_setting(actor: User | None, setting_id: int) -> None:
    """Delete a setting that is not the default, and its group assignments.

    Audited as `setting.deleted`. Raises UnknownSetting or DefaultSettingProtected.
    """
    setting = get_setting(setting_id)
    if setting.is_default:
        raise DefaultSettingProtected()
    before = {**snapshot(setting), "groups": [group.name for group in setting.groups]}
    audit.record(actor, "setting.deleted", target=setting, before=before)
    setting.groups = []
    db.session.flush()
    db.session.delete(setting)
    db.session.flush()


def _group(group_id: int) -> Group:
    try:
        return get_group(group_id)
    except groups.UnknownGroup as exc:
        raise UnknownGroup() from exc


def assign_group(actor: User | None, setting_id: int, group_id: int) -> Group:
    """Assign a setting to a group; audited as `setting.group_assigned`.

    Raises UnknownSetting, DefaultSettingProtected, UnknownGroup or AlreadyAssigned.
    """
    setting = get_setting(setting_id)
    if setting.is_default:
        raise DefaultSettingProtected()
    group = _group(group_id)
    if group in setting.groups:
        raise AlreadyAssigned()
    before = {"groups": [g.name for g in setting.groups]}
    try:
        with db.session.begin_nested():
            setting.groups.append(group)
            db.session.flush()
    except IntegrityError as exc:
        db.session.expire(setting, ["groups"])
        raise AlreadyAssigned() from exc
    db.session.expire(setting, ["groups"])
    audit.record(
        actor,
        "setting.group_assigned",
        target=setting,
        before=before,
        after={"groups": [g.name for g in setting.groups], "group_id": group.id},
    )
    db.session.flush()
    return group


def unassign_group(actor: User | None, setting_id: int, group_id: int) -> Group:
    """Remove a setting's assignment to a group; audited as `setting.group_unassigned`.

    Raises UnknownSetting, UnknownGroup or NotAssigned.
    """
    setting = get_setting(setting_id)
    group = _group(group_id)
    if group not in setting.groups:
        raise NotAssigned()
    before = {"groups": [g.name for g in setting.groups]}
    setting.groups.remove(group)
    db.session.flush()
    audit.record(
        actor,
        "setting.group_unassigned",
        target=setting,
        before=before,
        after={"groups": [g.name for g in setting.groups], "group_id": group.id},
    )
    db.session.flush()
    return group


def parse_order(values: Iterable[str]) -> list[int]:
    """Setting ids from form values ("3", "1,2"), in order; StaleOrder if one is not a number."""
    ids: list[int] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or len(part) > 18:
                raise StaleOrder()
            ids.append(int(part))
    return ids


def reorder(actor: User | None, ordered_ids: list[int]) -> list[EnrollmentSetting]:
    """Put the non-default settings in this order and renumber their priorities 10, 20, 30…

    `ordered_ids` must name every non-default setting exactly once, and nothing else:
    otherwise the page it came from was stale and StaleOrder is raised, changing nothing.
    Naming the default setting raises DefaultSettingProtected.
    Audited as `setting.reordered` with the order before and after.
    """
    current = ranked_settings()
    defaults = sa.select(EnrollmentSetting.id).where(EnrollmentSetting.is_default.is_(True))
    if set(ordered_ids) & set(db.session.scalars(defaults)):
        raise DefaultSettingProtected()
    if sorted(ordered_ids) != sorted(s.id for s in current) or len(set(ordered_ids)) != len(
        ordered_ids
    ):
        raise StaleOrder()
    by_id = {s.id: s for s in current}
    new = [by_id[i] for i in ordered_ids]
    before = {"order": [{"id": s.id, "name": s.name, "priority": s.priority} for s in current]}
    changed = False
    for rank, setting in enumerate(new, start=1):
        if setting.priority != rank * STEP:
            setting.priority = rank * STEP
            changed = True
    if changed:
        audit.record(
            actor,
            "setting.reordered",
            target_type="enrollment_setting",
            before=before,
            after={"order": [{"id": s.id, "name": s.name, "priority": s.priority} for s in new]},
        )
    db.session.flush()
    return new
