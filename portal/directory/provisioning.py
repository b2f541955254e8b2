"""What LDAP imports and SCIM provisioning share: updating, deprovisioning, inviting.

Services flush, callers commit (one transaction per import, sync or SCIM request).
"""

from __future__ import annotations

import logging
from datetime import datetime

from .. import audit
from ..auth.service import end_all_sessions
from ..extensions import db
from ..models import InvitationSender, Organization, User, utcnow
from . import service as directory_service

log = logging.getLogger(__name__)


def begin_transaction() -> None:
    """Open the database transaction now, so a failure later undoes everything.

    pysqlite starts a transaction only before a write; if the first statement is a
    SAVEPOINT (`begin_nested`, used by the directory service), SQLite makes that savepoint
    the transaction and its RELEASE commits it, half-way through an import. PostgreSQL
    needs nothing.
    """
    conn = db.session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")


def login_name(raw: str) -> str:
    """A UPN, lower-cased; directories also use plain login names (no @), kept as they are."""
    try:
        return directory_service._normalize_upn(raw)
    except directory_service.InvalidUpn:
        text = raw.strip().lower()
        if "@" in text or not text or len(text) > 320 or any(c.isspace() for c in text):
            raise
        return text


def update_user(
    user: User,
    org: Organization,
    changes: dict,
    *,
    actor: User | None,
    channel: str,
    action: str = "user.updated",
) -> bool:
    """Apply `changes` (email, upn, display_name, device_role, external_id) and audit them.

    E-mail and UPN are validated and checked for uniqueness (DirectoryError); when either
    changes the Managed Apple ID is derived again. Returns True when something changed.
    """
    if "email" in changes and changes["email"] is not None:
        changes["email"] = directory_service.normalize_email(changes["email"])
    if changes.get("upn"):
        changes["upn"] = login_name(changes["upn"])
    if "display_name" in changes:
        changes["display_name"] = directory_service._normalize_name(changes["display_name"])
    before, after = {}, {}
    for name, value in changes.items():
        if value is None and name in ("email", "display_name"):
            continue
        if getattr(user, name) != value:
            before[name], after[name] = getattr(user, name), value
    if not after:
        return False
    if "email" in after and directory_service._email_taken(after["email"]):
        raise directory_service.DuplicateEmail()
    if after.get("upn") and directory_service._upn_taken(after["upn"]):
        raise directory_service.DuplicateUpn()
    for name, value in after.items():
        setattr(user, name, value)
    db.session.flush()
    audit.record(actor, action, channel=channel, target=user, before=before, after=after)
    if "email" in after or "upn" in after:
        directory_service.apply_managed_apple_id(user, org, actor=actor, channel=channel)
    return True


def deprovision(
    user: User, *, actor: User | None, channel: str, reason: str, now: datetime | None = None
) -> None:
    """Deactivate an account its directory removed: signed out everywhere, links revoked.

    The row stays (with its devices and history); `deprovisioned_at` tells it from an
    account an admin deactivated, so the directory may bring it back later.
    """
    from ..invitations import service as invitations

    if user.deprovisioned_at is not None and not user.active:
        return
    now = now or utcnow()
    before = {"active": user.active}
    user.active = False
    user.deprovisioned_at = now
    end_all_sessions(user)
    invitations.revoke_all(user, actor=actor, channel=channel, now=now)
    audit.record(
        actor,
        "user.deprovisioned",
        channel=channel,
        target=user,
        before=before,
        after={"active": False, "reason": reason},
    )
    db.session.flush()


def set_active(user: User, active: bool, *, actor: User | None, channel: str) -> bool:
    """Activate or deactivate (directory-driven); deactivation ends sessions and links."""
    if user.active == active:
        return False
    from ..invitations import service as invitations

    before = {"active": user.active}
    user.active = active
    if active:
        user.deprovisioned_at = None
    else:
        end_all_sessions(user)
        invitations.revoke_all(user, actor=actor, channel=channel)
    audit.record(
        actor,
        "user.activated" if active else "user.deactivated",
        channel=channel,
        target=user,
        before=before,
        after={"active": active},
    )
    db.session.flush()
    return True


def reprovision(user: User, *, actor: User | None, channel: str) -> bool:
    """Bring back an account its directory had removed (not one an admin deactivated)."""
    if user.deprovisioned_at is None:
        return False
    user.deprovisioned_at = None
    return set_active(user, True, actor=actor, channel=channel) or True


def invite_if_wanted(user: User, org: Organization, *, actor: User | None, channel: str) -> bool:
    """Invite a newly imported user when the org asks for it; True if an invitation left."""
    if not org.invite_imported_users or not user.active:
        return False
    from ..invitations import service as invitations

    try:
        invitations.invite(user, actor=actor, sent_by=InvitationSender.IMPORT, channel=channel)
    except invitations.InvitationError as exc:
        log.info("imported user %s not invited: %s", user.id, exc)
        return False
    return True
