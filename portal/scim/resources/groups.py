"""SCIM Groups ↔ portal groups (only the ones Entra provisioned): documents, save, delete."""

from __future__ import annotations

import sqlalchemy as sa

from ... import audit
from ...extensions import db
from ...models import Group, User, UserSource, utcnow
from ...models.user import group_membership
from .. import limits, schema
from ..errors import ScimError, bad_request
from .users import visible_users
from .validation import CHANNEL, MAX_TEXT, meta, text_value, validate


def visible_groups():
    return sa.select(Group).where(Group.source == UserSource.ENTRA)


def group_document(group: Group, base_url: str, *, members: bool = True) -> dict:
    doc = {"schemas": [schema.GROUP], "id": str(group.id), "displayName": group.name}
    if group.external_id:
        doc["externalId"] = group.external_id
    if members:
        doc["members"] = [
            {
                "value": str(u.id),
                "type": "User",
                "$ref": f"{base_url}/scim/v2/Users/{u.id}",
            }
            for u in group.members
            if u.source == UserSource.ENTRA and u.deprovisioned_at is None
        ]
    doc["meta"] = meta("Group", group, f"{base_url}/scim/v2/Groups/{group.id}")
    return doc


def _members(doc: dict) -> list[int]:
    ids = set()
    for item in doc.get("members") or []:
        value = item.get("value") if isinstance(item, dict) else None
        number = _member_id(value)
        if number is None:
            raise bad_request(f"Unknown member {str(value)[:60]!r}.")
        ids.add(number)
    if not ids:
        return []
    found = []
    ordered = sorted(ids)
    # In slices: SQLite and drivers bound the parameters of one statement.
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        query = visible_users().with_only_columns(User.id).where(User.id.in_(chunk))
        found.extend(db.session.scalars(query).all())
    if len(found) != len(ids):
        raise bad_request("A member is not a user provisioned here.")
    return sorted(found)


def _member_id(value) -> int | None:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
        return number if 0 < number <= limits.MAX_INT else None
    return None


def _group_name(doc: dict, group: Group | None) -> str:
    name = " ".join((text_value(doc, "displayName", required=True, limit=200) or "").split())
    clash = db.session.scalar(sa.select(Group).where(sa.func.lower(Group.name) == name.lower()))
    if clash is not None and clash is not group:
        raise ScimError(409, "A group with this displayName already exists.", "uniqueness")
    return name


def save_group(group: Group | None, doc: dict) -> Group:
    """POST /Groups (group None) or PUT/PATCH: name, externalId and members, audited."""
    doc = validate("Group", doc)
    name = _group_name(doc, group)
    members = _members(doc)
    external_id = text_value(doc, "externalId", limit=MAX_TEXT)
    created = group is None
    if created:
        group = Group(name=name, description="Provisioned by Entra ID", source=UserSource.ENTRA)
        db.session.add(group)
        db.session.flush()
    current = set(
        db.session.scalars(
            sa.select(group_membership.c.user_id).where(group_membership.c.group_id == group.id)
        )
    )
    before = {"name": group.name, "members": sorted(current)}
    before_external = group.external_id
    group.name = name
    group.external_id = external_id
    after = {"name": group.name, "members": members}
    if before["members"] != after["members"]:
        _set_members(group, current, set(after["members"]))
    if created or before != after or before_external != external_id:
        # Membership lives in another table: the group's own row says when it changed.
        group.updated_at = utcnow()
    db.session.flush()
    if created or before != after:
        audit.record(
            None,
            "group.created" if created else "group.updated",
            channel=CHANNEL,
            target=group,
            before=None if created else before,
            after=after,
        )
    return group


def _set_members(group: Group, current: set[int], wanted: set[int]) -> None:
    """Membership rows written directly: the ORM's collection bookkeeping (and the
    back-references on 20,000 users) would make a large group slow."""
    added, removed = wanted - current, current - wanted
    if removed:
        gone = sorted(removed)
        for start in range(0, len(gone), 5000):
            db.session.execute(
                group_membership.delete().where(
                    group_membership.c.group_id == group.id,
                    group_membership.c.user_id.in_(gone[start : start + 5000]),
                )
            )
    if added:
        db.session.execute(
            group_membership.insert(),
            [{"group_id": group.id, "user_id": user_id} for user_id in sorted(added)],
        )
    # The loaded collections no longer tell the truth: read them again when asked.
    db.session.expire(group, ["members"])
    changed = added | removed
    for user in list(db.session.identity_map.values()):
        if isinstance(user, User) and user.id in changed:
            db.session.expire(user, ["groups"])


def delete_group(group: Group) -> None:
    audit.record(None, "group.deleted", channel=CHANNEL, target=group, before={"name": group.name})
    db.session.delete(group)
    db.session.flush()
