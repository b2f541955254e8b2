"""The organization's identity settings: Managed Apple ID scheme, inviting imported users."""

from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import AppleIdScheme, Organization, User
from . import apple_id
from . import service as directory_service


def preview(*, scheme: AppleIdScheme, subdomain: bool, email: str, upn: str) -> str:
    """The Managed Apple ID a person with `email` / `upn` would get (AppleIdError if none)."""
    return apple_id.derive(email=email or None, upn=upn or None, scheme=scheme, subdomain=subdomain)


def update(
    actor: User,
    org: Organization,
    *,
    scheme: AppleIdScheme,
    subdomain: bool,
    invite_imported_users: bool,
    channel: str = "web",
) -> dict:
    """Save the settings; a new scheme re-derives every account's Managed Apple ID.

    Returns counts: `changed` (IDs that moved), `conflicts` (IDs another account holds,
    left as they were and shown to admins). The caller commits.
    """
    before = {
        "apple_id_scheme": org.apple_id_scheme.value,
        "apple_id_subdomain": org.apple_id_subdomain,
        "invite_imported_users": org.invite_imported_users,
    }
    org.apple_id_scheme = AppleIdScheme(scheme)
    org.apple_id_subdomain = bool(subdomain)
    org.invite_imported_users = bool(invite_imported_users)
    after = {
        "apple_id_scheme": org.apple_id_scheme.value,
        "apple_id_subdomain": org.apple_id_subdomain,
        "invite_imported_users": org.invite_imported_users,
    }
    result = {"changed": 0, "conflicts": 0}
    if before == after:
        return result
    audit.record(
        actor,
        "org.identity_settings_changed",
        channel=channel,
        target=org,
        before=before,
        after=after,
    )
    if (before["apple_id_scheme"], before["apple_id_subdomain"]) != (
        after["apple_id_scheme"],
        after["apple_id_subdomain"],
    ):
        users = db.session.scalars(sa.select(User).where(User.org_id == org.id).order_by(User.id))
        for user in users:
            previous = user.managed_apple_id
            held = directory_service.apply_managed_apple_id(user, org, actor=actor, channel=channel)
            if user.managed_apple_id != previous:
                result["changed"] += 1
            if not held and user.managed_apple_id_conflict:
                result["conflicts"] += 1
    db.session.flush()
    return result
