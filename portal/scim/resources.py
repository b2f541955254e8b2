"""SCIM Users and Groups ↔ portal accounts and groups (provisioning by Entra ID).

SCIM sees and manages only what Entra provisioned: `entra` accounts (not deprovisioned)
and `entra` groups. An account the portal already had (local, LDAP, OpenID) joins them when
Entra finds it by `userName eq "…"` (`match_account`); a POST for an address such an account
holds is a 409 conflict. SCIM never sets roles. Functions flush; the view commits once per
request.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from .. import audit
from ..directory import provisioning
from ..directory import service as directory_service
from ..extensions import db
from ..models import Group, Organization, Role, User, UserSource, utcnow
from ..models.user import group_membership
from . import limits, schema
from .errors import ScimError, bad_request

log = logging.getLogger(__name__)

CHANNEL = "scim"
# What the portal keeps from a SCIM user only to give it back (not personal contact data).
KEPT = ("name", "nickName", "title", "userType", "preferredLanguage", "locale", "timezone")
KEPT_ENTERPRISE = (
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
)
MAX_TEXT = 500
# Attributes the account always has a value for, that SCIM may still leave unassigned.
UNSETTABLE = ("displayName", "active")


def visible_users():
    return sa.select(User).where(User.source == UserSource.ENTRA, User.deprovisioned_at.is_(None))


def visible_groups():
    return sa.select(Group).where(Group.source == UserSource.ENTRA)


def _iso(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- validation ---------------------------------------------------------------------------


def coerce(attr: schema.Attr, value):
    """Entra's shorthand: a complex attribute with a `value` given as that value alone
    (`"manager": "<id>"`), or as a one-element list. An empty text clears it."""
    if attr.type != "complex" or attr.multi or attr.child("value") is None:
        return value
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return {"value": value} if value.strip() else None
    if isinstance(value, dict) and not str(value.get("value") or "").strip():
        if all(v in (None, "") for v in value.values()):
            return None  # {"value": ""}: Entra clearing the manager
    return value


def ignored(resource: str, key: str, where: str = "body") -> bool:
    """True (and logged) for an attribute the portal does not keep or an unknown extension."""
    lowered = key.lower()
    if lowered in schema.NOT_KEPT[resource]:
        log.info("SCIM %s: attribute %r is not kept by the portal; ignored", where, key)
        return True
    if lowered.startswith("urn:") and schema.owner(resource, key) is None:
        log.info("SCIM %s: unknown schema extension %r ignored", where, key[:200])
        return True
    return False


def _check(attr: schema.Attr, value, where: str) -> None:
    if value is None:
        return
    if attr.multi and attr.name != "schemas":
        if not isinstance(value, list):
            raise bad_request(f"{where} must be a list.")
        for item in value:
            _check_single(attr, item, where)
        return
    _check_single(attr, value, where)


def _check_single(attr: schema.Attr, value, where: str) -> None:
    if value is None:
        return
    if attr.type == "complex":
        if not isinstance(value, dict):
            raise bad_request(f"{where} must be an object.")
        for key, item in value.items():
            sub = attr.child(key) if isinstance(key, str) else None
            if sub is None:
                if item is None:
                    continue
                raise bad_request(f"Unknown attribute {where}.{key}.", "invalidSyntax")
            _check_single(sub, item, f"{where}.{sub.name}")
    elif attr.type == "boolean":
        _boolean(value, where)
    elif attr.name == "schemas":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request("schemas must be a list of URIs.", "invalidSyntax")
    elif not isinstance(value, str) or len(value) > MAX_TEXT:
        raise bad_request(f"{where} must be a text of at most {MAX_TEXT} characters.")


def _boolean(value, where: str = "active") -> bool:
    # Entra sends "True"/"False" as strings unless the app opts into compliance.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad_request(f"{where} must be true or false.")


def validate(resource: str, doc) -> dict:
    """Check a User or Group document against the schema; returns it with canonical keys."""
    if not isinstance(doc, dict):
        raise bad_request("The request body must be a JSON object.", "invalidSyntax")
    clean: dict = {}
    for key, value in doc.items():
        if not isinstance(key, str):
            raise bad_request("Attribute names must be texts.", "invalidSyntax")
        extension = schema.extension(resource, key)
        if extension is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise bad_request(f"{key} must be an object.")
            part = clean.setdefault(extension.id, {})
            for sub_key, item in value.items():
                attr = extension.attr(sub_key) if isinstance(sub_key, str) else None
                if attr is None:
                    if item is None:
                        continue
                    raise bad_request(f"Unknown attribute {key}:{sub_key}.", "invalidSyntax")
                item = coerce(attr, item)
                _check(attr, item, attr.name)
                if item is not None:
                    part[attr.name] = item
            continue
        container, attr = schema.lookup(resource, key)
        if container is not None and attr is not None:
            # `urn:…:enterprise:2.0:User:manager` at the top level, as Entra may write it.
            item = coerce(attr, value)
            _check(attr, item, attr.name)
            if item is not None:
                clean.setdefault(container, {})[attr.name] = item
            continue
        if attr is None:
            if value is None or ignored(resource, key):
                continue  # Entra sends unmapped attributes as null
            raise bad_request(f"Unknown attribute {key!r}.", "invalidSyntax")
        if attr.mutability == "readOnly":
            continue  # id, meta, groups
        _check(attr, value, attr.name)
        clean[attr.name] = value
    return clean


def _text(doc: dict, name: str, *, required: bool = False, limit: int = 320) -> str | None:
    value = doc.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise bad_request(f"{name} is required.")
        return None
    value = value.strip()
    if len(value) > limit:
        raise bad_request(f"{name} is too long.")
    return value


# -- users --------------------------------------------------------------------------------


def _pick_email(emails) -> dict | None:
    items = [e for e in emails or [] if isinstance(e, dict) and isinstance(e.get("value"), str)]
    for test in (
        lambda e: e.get("primary") is True,
        lambda e: str(e.get("type", "")).lower() == "work",
        lambda e: True,
    ):
        found = next((e for e in items if test(e)), None)
        if found is not None:
            return found
    return None


def user_document(user: User, base_url: str) -> dict:
    attrs = user.directory_attributes or {}
    emails = [dict(e) for e in attrs.get("emails") or []]
    picked = _pick_email(emails)
    if picked is None:
        emails = [{"value": user.email, "type": "work", "primary": True}]
    elif str(picked["value"]).lower() != user.email:
        picked["value"] = user.email
    # Entra's spelling is given back when it still names the same login (stored lower-case).
    login = user.upn or user.email
    spelled = attrs.get("userName")
    doc = {
        "schemas": [schema.USER],
        "id": str(user.id),
        "userName": spelled if isinstance(spelled, str) and spelled.lower() == login else login,
        "displayName": user.display_name,
        "active": bool(user.active),
        "emails": emails,
    }
    # Removed (or never sent) by the directory: the account keeps a name to show and is
    # active as at creation, but SCIM gives the attribute back as unassigned.
    for name in attrs.get("unset") or ():
        doc.pop(name, None)
    if user.external_id:
        doc["externalId"] = user.external_id
    for name in KEPT:
        if attrs.get(name) is not None:
            doc[name] = attrs[name]
    if attrs.get("enterprise"):
        doc["schemas"].append(schema.ENTERPRISE)
        doc[schema.ENTERPRISE] = dict(attrs["enterprise"])
    groups = [g for g in user.groups if g.source == UserSource.ENTRA]
    if groups:
        doc["groups"] = [
            {"value": str(g.id), "display": g.name, "$ref": f"{base_url}/scim/v2/Groups/{g.id}"}
            for g in groups
        ]
    doc["meta"] = {
        "resourceType": "User",
        "created": _iso(user.created_at),
        "lastModified": _iso(user.updated_at or user.created_at),
        "location": f"{base_url}/scim/v2/Users/{user.id}",
    }
    return doc


def _user_fields(doc: dict) -> dict:
    user_name = _text(doc, "userName", required=True).lower()
    picked = _pick_email(doc.get("emails"))
    email = (picked or {}).get("value") or (user_name if "@" in user_name else None)
    if not email:
        raise bad_request("An e-mail address is required (emails or an address as userName).")
    name = doc.get("name") or {}
    joined = " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p)
    display = _text(doc, "displayName", limit=200) or name.get("formatted") or joined or user_name
    attrs = {k: doc[k] for k in KEPT if doc.get(k) is not None}
    attrs["userName"] = doc["userName"].strip()
    if doc.get("emails"):
        attrs["emails"] = [e for e in doc["emails"] if isinstance(e, dict)]
    enterprise = doc.get(schema.ENTERPRISE) or {}
    kept = {k: enterprise[k] for k in KEPT_ENTERPRISE if enterprise.get(k) is not None}
    if isinstance(kept.get("manager"), dict):
        kept["manager"] = {k: v for k, v in kept["manager"].items() if k in ("value", "$ref")}
    if kept:
        attrs["enterprise"] = kept
    unset = [name for name in UNSETTABLE if doc.get(name) is None]
    if unset:
        attrs["unset"] = unset
    return {
        "upn": user_name,
        "email": email,
        "display_name": " ".join(str(display).split())[:200] or user_name,
        "external_id": _text(doc, "externalId", limit=MAX_TEXT),
        "active": True if doc.get("active") is None else _boolean(doc["active"]),
        "attrs": attrs,
    }


def _conflict(exc: directory_service.DirectoryError) -> ScimError:
    if isinstance(exc, directory_service.DuplicateEmail | directory_service.DuplicateUpn):
        return ScimError(409, "Another account already has this userName or e-mail.", "uniqueness")
    return bad_request(exc.args[0])


def _holder(email: str, login: str) -> User | None:
    return db.session.scalar(
        sa.select(User).where(sa.or_(User.email == email.lower(), User.upn == login)).limit(1)
    )


def match_account(user_name: str) -> User | None:
    """Let Entra take over the account `user_name` names, when the portal already has one.

    A local, LDAP or OpenID-created account (not one its directory removed) whose e-mail or
    login is `user_name` becomes provisioned by Entra: SCIM then sees and updates it, and
    the change of source is audited. Roles and passwords are left as they are. Flushes.
    """
    login = user_name.strip().lower()
    if not login or len(login) > 320:
        return None
    account = db.session.scalar(
        sa.select(User)
        .where(
            sa.or_(User.email == login, User.upn == login),
            User.source != UserSource.ENTRA,
            User.deprovisioned_at.is_(None),
        )
        .limit(1)
    )
    if account is None:
        return None
    before = {"source": str(account.source)}
    account.source = UserSource.ENTRA
    db.session.flush()
    audit.record(
        None,
        "user.matched",
        channel=CHANNEL,
        target=account,
        before=before,
        after={"source": str(UserSource.ENTRA), "matched_by": "userName"},
    )
    log.info("SCIM: account %s matched by userName, now provisioned by Entra ID", account.id)
    return account


def create_user(doc: dict, org: Organization) -> User:
    """POST /Users: a new entra account (or a deprovisioned one brought back)."""
    fields = _user_fields(validate("User", doc))
    try:
        email = directory_service.normalize_email(fields["email"])
        login = provisioning.login_name(fields["upn"])
    except directory_service.DirectoryError as exc:
        raise _conflict(exc) from exc
    existing = _holder(email, login)
    if existing is not None:
        if existing.source == UserSource.ENTRA and existing.deprovisioned_at is not None:
            provisioning.reprovision(existing, actor=None, channel=CHANNEL)
            return replace_user(existing, doc, org)
        raise ScimError(409, "Another account already has this userName or e-mail.", "uniqueness")
    try:
        user = directory_service.create_user(
            None,
            org=org,
            email=email,
            display_name=fields["display_name"],
            role=Role.EMPLOYEE,
            source=UserSource.ENTRA,
            upn=login if "@" in login else None,
            channel=CHANNEL,
        )
    except directory_service.DirectoryError as exc:
        raise _conflict(exc) from exc
    user.upn = login
    user.external_id = fields["external_id"]
    user.directory_attributes = fields["attrs"]
    db.session.flush()
    directory_service.apply_managed_apple_id(user, org, actor=None, channel=CHANNEL)
    if not fields["active"]:
        provisioning.set_active(user, False, actor=None, channel=CHANNEL)
    else:
        provisioning.invite_if_wanted(user, org, actor=None, channel=CHANNEL)
    return user


def replace_user(user: User, doc: dict, org: Organization) -> User:
    """PUT /Users/{id} (and PATCH after its operations): store the whole document."""
    fields = _user_fields(validate("User", doc))
    changes = {
        "email": fields["email"],
        "upn": fields["upn"],
        "display_name": fields["display_name"],
        "external_id": fields["external_id"],
    }
    try:
        provisioning.update_user(user, org, changes, actor=None, channel=CHANNEL)
    except directory_service.DirectoryError as exc:
        raise _conflict(exc) from exc
    if (user.directory_attributes or None) != fields["attrs"]:
        user.directory_attributes = fields["attrs"]
    provisioning.set_active(user, fields["active"], actor=None, channel=CHANNEL)
    db.session.flush()
    return user


def delete_user(user: User) -> None:
    provisioning.deprovision(user, actor=None, channel=CHANNEL, reason="deleted by SCIM")


# -- groups -------------------------------------------------------------------------------


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
    doc["meta"] = {
        "resourceType": "Group",
        "created": _iso(group.created_at),
        "lastModified": _iso(group.updated_at or group.created_at),
        "location": f"{base_url}/scim/v2/Groups/{group.id}",
    }
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
    name = " ".join((_text(doc, "displayName", required=True, limit=200) or "").split())
    clash = db.session.scalar(sa.select(Group).where(sa.func.lower(Group.name) == name.lower()))
    if clash is not None and clash is not group:
        raise ScimError(409, "A group with this displayName already exists.", "uniqueness")
    return name


def save_group(group: Group | None, doc: dict) -> Group:
    """POST /Groups (group None) or PUT/PATCH: name, externalId and members, audited."""
    doc = validate("Group", doc)
    name = _group_name(doc, group)
    members = _members(doc)
    external_id = _text(doc, "externalId", limit=MAX_TEXT)
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
