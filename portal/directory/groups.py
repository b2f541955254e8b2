"""Static groups: create, rename, delete, and their members (SPEC §1 "Effective setting", §6).

Services take the acting user as an argument and never read the request. They flush but do
not commit: the caller commits once per form, or rolls back. On bad input they raise a
`GroupError` before anything is added to the session, so nothing is half-written.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..domain import DomainError
from ..extensions import db
from ..models import EnrollmentSetting, Group, User, group_membership, setting_assignment
from .service import name_or_email_contains

MAX_NAME = 200
MAX_DESCRIPTION = 500
SUGGESTIONS = 8


class GroupError(DomainError):
    """A group change refused; `field` names the form field at fault, `status` the HTTP code."""

    field: str | None = None
    status = 400
    default_message = _l("That change to the group cannot be made.")


class GroupNameRequired(GroupError):
    field = "name"
    default_message = _l("Enter a name for the group.")


class GroupNameTooLong(GroupError):
    field = "name"
    default_message = _l("A group name has at most 200 characters.")


class DescriptionTooLong(GroupError):
    field = "description"
    default_message = _l("A description has at most 500 characters.")


class DuplicateGroupName(GroupError):
    field = "name"
    status = 409
    default_message = _l("Another group already has this name.")


class UnknownGroup(GroupError):
    status = 404
    default_message = _l("That group does not exist (any more).")


class UnknownUser(GroupError):
    field = "email"
    status = 404
    default_message = _l("No account has this e-mail address.")


class MemberEmailRequired(GroupError):
    field = "email"
    default_message = _l("Enter the e-mail address of the person to add.")


class AlreadyMember(GroupError):
    field = "email"
    status = 409
    default_message = _l("This person is already a member of the group.")


class NotAMember(GroupError):
    status = 409
    default_message = _l("This person is not a member of the group (any more).")


@dataclass(frozen=True)
class GroupRow:
    """A line of the groups list."""

    group: Group
    member_count: int
    settings: list[EnrollmentSetting]


def _clean_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise GroupNameRequired()
    if len(name) > MAX_NAME:
        raise GroupNameTooLong()
    return name


def _clean_description(raw: str | None) -> str:
    text = (raw or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise DescriptionTooLong()
    return text


def _name_taken(name: str, *, other_than: int | None = None) -> bool:
    query = sa.select(Group.id).where(sa.func.lower(Group.name) == name.lower())
    if other_than is not None:
        query = query.where(Group.id != other_than)
    return db.session.scalar(query.limit(1)) is not None


def _snapshot(group: Group) -> dict:
    return {"name": group.name, "description": group.description}


def get_group(group_id: int) -> Group:
    """The group with this id, or UnknownGroup."""
    group = db.session.get(Group, group_id) if isinstance(group_id, int) else None
    if group is None:
        raise UnknownGroup()
    return group


def settings_of(group_ids: list[int]) -> dict[int, list[EnrollmentSetting]]:
    """The settings assigned to each group, in priority order."""
    result: dict[int, list[EnrollmentSetting]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return result
    query = (
        sa.select(setting_assignment.c.group_id, EnrollmentSetting)
        .join(EnrollmentSetting, EnrollmentSetting.id == setting_assignment.c.setting_id)
        .where(setting_assignment.c.group_id.in_(group_ids))
        .order_by(EnrollmentSetting.is_default, EnrollmentSetting.priority, EnrollmentSetting.id)
    )
    for group_id, setting in db.session.execute(query):
        result[group_id].append(setting)
    return result


def list_groups() -> list[GroupRow]:
    """Every group by name, with its member count and assigned settings."""
    counts = (
        sa.select(group_membership.c.group_id, sa.func.count().label("n"))
        .group_by(group_membership.c.group_id)
        .subquery()
    )
    query = (
        sa.select(Group, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.group_id == Group.id)
        .order_by(sa.func.lower(Group.name), Group.id)
    )
    rows = db.session.execute(query).all()
    settings = settings_of([group.id for group, _ in rows])
    return [GroupRow(group, count, settings[group.id]) for group, count in rows]


def create_group(actor: User | None, name: str, description: str = "") -> Group:
    """Create a static group; audited as `group.created`.

    Raises GroupNameRequired, GroupNameTooLong, DescriptionTooLong or DuplicateGroupName
    (names compare case-insensitively) before changing anything.
    """
    name = _clean_name(name)
    description = _clean_description(description)
    if _name_taken(name):
        raise DuplicateGroupName()
    group = Group(name=name, description=description)
    try:
        with db.session.begin_nested():
            db.session.add(group)
            db.session.flush()
    except IntegrityError as exc:
        # Another transaction created the same name in the meantime.
        raise DuplicateGroupName() from exc
    audit.record(actor, "group.created", target=group, after=_snapshot(group))
    db.session.flush()
    return group


def rename_group(
    actor: User | None, group_id: int, name: str, description: str | None = None
) -> Group:
    """Rename a group (and change its description when given); audited as `group.renamed`.

    Raises UnknownGroup, GroupNameRequired, GroupNameTooLong, DescriptionTooLong or
    DuplicateGroupName. Changing nothing records nothing.
    """
    group = get_group(group_id)
    name = _clean_name(name)
    description = group.description if description is None else _clean_description(description)
    if _name_taken(name, other_than=group.id):
        raise DuplicateGroupName()
    before = _snapshot(group)
    if before == {"name": name, "description": description}:
        return group
    try:
        with db.session.begin_nested():
            group.name = name
            group.description = description
            db.session.flush()
    except IntegrityError as exc:
        db.session.refresh(group)
        raise DuplicateGroupName() from exc
    audit.record(actor, "group.renamed", target=group, before=before, after=_snapshot(group))
    db.session.flush()
    return group


def delete_group(actor: User | None, group_id: int) -> None:
    """Delete a group, its memberships and its setting assignments (never the users).

    Audited as `group.deleted` with the members and settings it had. Raises UnknownGroup.
    """
    group = get_group(group_id)
    before = {
        **_snapshot(group),
        "members": [user.email for user in group.members],
        "settings": [setting.name for setting in settings_of([group.id])[group.id]],
    }
    audit.record(actor, "group.deleted", target=group, before=before)
    # Explicit, so SQLite without foreign-key enforcement leaves no orphan rows either.
    db.session.execute(
        sa.delete(setting_assignment).where(setting_assignment.c.group_id == group.id)
    )
    db.session.execute(sa.delete(group_membership).where(group_membership.c.group_id == group.id))
    db.session.expire(group, ["members"])
    db.session.delete(group)
    db.session.flush()


def _find_user(email: str | None) -> User:
    text = (email or "").strip().lower()
    if not text:
        raise MemberEmailRequired()
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == text))
    if user is None:
        raise UnknownUser()
    return user


def _is_member(group: Group, user: User) -> bool:
    query = sa.select(group_membership.c.user_id).where(
        group_membership.c.group_id == group.id, group_membership.c.user_id == user.id
    )
    return db.session.scalar(query) is not None


def add_member(actor: User | None, group_id: int, email: str) -> User:
    """Add the account with this exact e-mail to a group; audited as `group.member_added`.

    Raises UnknownGroup, MemberEmailRequired, UnknownUser or AlreadyMember.
    """
    group = get_group(group_id)
    user = _find_user(email)
    if _is_member(group, user):
        raise AlreadyMember()
    before = {"members": len(group.members)}
    try:
        with db.session.begin_nested():
            group.members.append(user)
            db.session.flush()
    except IntegrityError as exc:
        # Added by someone else in the meantime.
        db.session.expire(group, ["members"])
        raise AlreadyMember() from exc
    audit.record(
        actor,
        "group.member_added",
        target=group,
        before=before,
        after={"members": len(group.members), "user": user.email, "user_id": user.id},
    )
    db.session.flush()
    return user


def remove_member(actor: User | None, group_id: int, user_id: int) -> User:
    """Remove a person from a group; audited as `group.member_removed`.

    Raises UnknownGroup, UnknownUser or NotAMember.
    """
    group = get_group(group_id)
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise UnknownUser()
    if not _is_member(group, user):
        raise NotAMember()
    before = {"members": len(group.members), "user": user.email, "user_id": user.id}
    group.members.remove(user)
    db.session.flush()
    audit.record(
        actor,
        "group.member_removed",
        target=group,
        before=before,
        after={"members": len(group.members)},
    )
    db.session.flush()
    return user


def member_candidates(group_id: int, text: str, limit: int = SUGGESTIONS) -> list[User]:
    """Active accounts outside the group whose e-mail or name contains `text`."""
    group = get_group(group_id)
    text = " ".join((text or "").split())
    if not text:
        return []
    members = sa.select(group_membership.c.user_id).where(group_membership.c.group_id == group.id)
    query = (
        sa.select(User)
        .where(
            User.active.is_(True),
            User.id.not_in(members),
            name_or_email_contains(text),
        )
        .order_by(sa.func.lower(User.display_name), User.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))
