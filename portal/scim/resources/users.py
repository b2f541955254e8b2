"""SCIM Users ↔ portal accounts: documents, matching an existing account, create, replace,
delete."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from ... import audit
from ...directory import provisioning
from ...directory import service as directory_service
from ...extensions import db
from ...models import Organization, Role, User, UserSource
from .. import schema
from ..errors import ScimError, bad_request
from .validation import CHANNEL, MAX_TEXT, boolean_value, meta, text_value, validate

# One logger for the package, as when it was one module.
log = logging.getLogger("portal.scim.resources")

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
# Attributes the account always has a value for, that SCIM may still leave unassigned.
UNSETTABLE = ("displayName", "active")


def visible_users():
    return sa.select(User).where(User.source == UserSource.ENTRA, User.deprovisioned_at.is_(None))


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
    doc["meta"] = meta("User", user, f"{base_url}/scim/v2/Users/{user.id}")
    return doc


def _user_fields(doc: dict) -> dict:
    user_name = text_value(doc, "userName", required=True).lower()
    picked = _pick_email(doc.get("emails"))
    email = (picked or {}).get("value") or (user_name if "@" in user_name else None)
    if not email:
        raise bad_request("An e-mail address is required (emails or an address as userName).")
    name = doc.get("name") or {}
    joined = " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p)
    display = (
        text_value(doc, "displayName", limit=200) or name.get("formatted") or joined or user_name
    )
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
        "external_id": text_value(doc, "externalId", limit=MAX_TEXT),
        "active": True if doc.get("active") is None else boolean_value(doc["active"]),
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
