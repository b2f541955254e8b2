"""Group changes that matter to a rollout: what they do to people's enrollment type before
they are made, and undoing them for a short while.

`type_moves` says how many members would move from User to Device Enrollment (and back) if a
setting were assigned to or unassigned from a group, or the group deleted. `unassign` and
`delete` keep what it takes to put things back in an `UndoAction` that expires after
`UNDO_MINUTES`; `undo` puts them back (once, by the person who made the change or an admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..directory import groups as directory_groups
from ..domain import DomainError
from ..enrollment import settings as settings_service
from ..extensions import db
from ..models import (
    EnrollmentSetting,
    EnrollmentType,
    Group,
    ReminderSchedule,
    Role,
    UndoAction,
    User,
    group_membership,
    setting_assignment,
    utcnow,
)

UNDO_MINUTES = 10


class UndoError(DomainError):
    status = 409
    default_message = _l("This change can no longer be undone.")


@dataclass(frozen=True)
class Moves:
    members: int
    to_device: int  # from User Enrollment to Device Enrollment
    to_user: int  # from Device Enrollment to User Enrollment


def _types_of(
    user_groups: dict[int, set[int]], assigned: dict[int, set[int]], ranks: dict, default: str
) -> dict[int, str]:
    """Each person's effective type: the best (priority, id) setting of their groups."""
    result = {}
    for user_id, group_ids in user_groups.items():
        candidates = [ranks[s] for g in group_ids for s in assigned.get(g, ()) if s in ranks]
        result[user_id] = min(candidates)[2] if candidates else default
    return result


def type_moves(
    group_id: int,
    *,
    assign: int | None = None,
    unassign: int | None = None,
    delete: bool = False,
) -> Moves:
    """How the group's members' enrollment types change with one change to the group."""
    ranks, default = {}, EnrollmentType.DEVICE.value
    defaults = []
    for setting in db.session.scalars(sa.select(EnrollmentSetting)):
        rank = (setting.priority, setting.id, EnrollmentType(setting.enrollment_type).value)
        ranks[setting.id] = rank
        if setting.is_default:
            defaults.append(rank)
    if defaults:
        default = min(defaults)[2]
    members = list(
        db.session.scalars(
            sa.select(group_membership.c.user_id).where(group_membership.c.group_id == group_id)
        )
    )
    if not members:
        return Moves(0, 0, 0)
    user_groups: dict[int, set[int]] = {uid: set() for uid in members}
    for chunk_start in range(0, len(members), 5000):
        chunk = members[chunk_start : chunk_start + 5000]
        for uid, gid in db.session.execute(
            sa.select(group_membership.c.user_id, group_membership.c.group_id).where(
                group_membership.c.user_id.in_(chunk)
            )
        ):
            user_groups[uid].add(gid)
    assigned: dict[int, set[int]] = {}
    for gid, sid in db.session.execute(
        sa.select(setting_assignment.c.group_id, setting_assignment.c.setting_id)
    ):
        assigned.setdefault(gid, set()).add(sid)
    before = _types_of(user_groups, assigned, ranks, default)
    changed = {gid: set(sids) for gid, sids in assigned.items()}
    if assign is not None:
        changed.setdefault(group_id, set()).add(assign)
    if unassign is not None:
        changed.get(group_id, set()).discard(unassign)
    if delete:
        changed.pop(group_id, None)
    after = _types_of(user_groups, changed, ranks, default)
    user, device = EnrollmentType.USER.value, EnrollmentType.DEVICE.value
    return Moves(
        members=len(members),
        to_device=sum(1 for u in members if before[u] == user and after[u] == device),
        to_user=sum(1 for u in members if before[u] == device and after[u] == user),
    )


# -- changes that can be undone --------------------------------------------------------------


def _undo(actor: User, kind: str, payload: dict, now: datetime) -> UndoAction:
    action = UndoAction(
        kind=kind,
        actor_id=actor.id,
        payload=payload,
        created_at=now,
        expires_at=now + timedelta(minutes=UNDO_MINUTES),
    )
    db.session.add(action)
    db.session.flush()
    return action


def unassign(actor: User, setting_id: int, group_id: int, *, now=None) -> UndoAction:
    """Unassign a setting from a group (audited by the settings service). Caller commits."""
    now = now or utcnow()
    settings_service.unassign_group(actor, setting_id, group_id)
    return _undo(actor, "unassign", {"setting_id": setting_id, "group_id": group_id}, now)


def delete(actor: User, group_id: int, *, now=None) -> UndoAction:
    """Delete a group (audited by the directory service), keeping what undo needs."""
    now = now or utcnow()
    group = directory_groups.get_group(group_id)
    schedule = db.session.scalar(
        sa.select(ReminderSchedule).where(ReminderSchedule.group_id == group.id)
    )
    payload = {
        "group_id": group.id,
        "name": group.name,
        "description": group.description,
        "source": str(group.source),
        "external_id": group.external_id,
        "members": list(
            db.session.scalars(
                sa.select(group_membership.c.user_id).where(group_membership.c.group_id == group.id)
            )
        ),
        "settings": list(
            db.session.scalars(
                sa.select(setting_assignment.c.setting_id).where(
                    setting_assignment.c.group_id == group.id
                )
            )
        ),
        "reminders": None
        if schedule is None
        else {
            "days": list(schedule.days),
            "max_reminders": schedule.max_reminders,
            "start_hour": schedule.start_hour,
            "end_hour": schedule.end_hour,
            "enabled": schedule.enabled,
        },
    }
    if schedule is not None:
        db.session.delete(schedule)
    directory_groups.delete_group(actor, group.id)
    return _undo(actor, "delete_group", payload, now)


def get_undo(actor: User, undo_id: int, *, now=None) -> UndoAction:
    """The undo `actor` may still use, or UndoError."""
    now = now or utcnow()
    action = db.session.get(UndoAction, undo_id)
    if action is None or (action.actor_id != actor.id and not actor.has_role(Role.ADMIN)):
        raise UndoError()
    if action.used_at is not None or action.expires_at <= now:
        raise UndoError()
    return action


def undo(actor: User, undo_id: int, *, now=None) -> Group:
    """Put back what the change removed; returns the group. Caller commits."""
    now = now or utcnow()
    action = get_undo(actor, undo_id, now=now)
    # Claim it first: a double click undoes once.
    claimed = db.session.execute(
        sa.update(UndoAction)
        .where(UndoAction.id == action.id, UndoAction.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise UndoError()
    payload = action.payload
    if action.kind == "unassign":
        group = settings_service.assign_group(actor, payload["setting_id"], payload["group_id"])
    elif action.kind == "delete_group":
        group = _restore_group(actor, payload)
    else:
        raise UndoError()
    audit.record(
        actor, "rollout.undone", target=group, after={"undo": action.id, "kind": action.kind}
    )
    db.session.flush()
    return group


def _restore_group(actor: User, payload: dict) -> Group:
    if db.session.scalar(sa.select(Group.id).where(Group.name == payload["name"])) is not None:
        raise UndoError(_l("Another group took this name since: the group cannot be restored."))
    group = Group(
        name=payload["name"],
        description=payload.get("description") or "",
        source=payload.get("source") or "local",
        external_id=payload.get("external_id"),
    )
    db.session.add(group)
    db.session.flush()
    users = set(db.session.scalars(sa.select(User.id).where(User.id.in_(payload["members"]))))
    if users:
        db.session.execute(
            group_membership.insert(), [{"group_id": group.id, "user_id": uid} for uid in users]
        )
    settings = set(
        db.session.scalars(
            sa.select(EnrollmentSetting.id).where(EnrollmentSetting.id.in_(payload["settings"]))
        )
    )
    if settings:
        db.session.execute(
            setting_assignment.insert(),
            [{"group_id": group.id, "setting_id": sid} for sid in settings],
        )
    if payload.get("reminders"):
        db.session.add(ReminderSchedule(group_id=group.id, **payload["reminders"]))
    audit.record(
        actor,
        "group.restored",
        target=group,
        after={"members": len(users), "settings": sorted(settings)},
    )
    return group
