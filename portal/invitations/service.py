"""Enrollment invitations: create, resend, revoke, look up and mark used (SPEC §3).

A token is 256 random bits shown once (in the e-mail and to the caller); the database keeps
only its SHA-256. The e-mail is queued in the outbox in the caller's transaction: callers
commit. Business rules only — no `request`, no `current_user`; configuration comes in an
`InvitationSettings` the adapter builds from the app's config.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..extensions import db
from ..models import (
    DeliveryStatus,
    Invitation,
    InvitationSender,
    Role,
    User,
    utcnow,
)
from ..outbox import service as outbox

TOKEN_BYTES = 32  # 256 bits
RESEND_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class InvitationSettings:
    public_base_url: str = "http://127.0.0.1:5000"
    # Empty: no-reply@ the organization's first domain, named after the organization.
    mail_from: str = ""
    ttl_days: int = 7
    resend_limit: int = 5
    resend_window: timedelta = RESEND_WINDOW

    @classmethod
    def from_config(cls, config: Mapping) -> InvitationSettings:
        return cls(
            public_base_url=str(config.get("PUBLIC_BASE_URL", cls.public_base_url)).rstrip("/"),
            mail_from=str(config.get("MAIL_FROM") or ""),
            ttl_days=int(config.get("INVITATION_TTL_DAYS", cls.ttl_days)),
            resend_limit=int(config.get("INVITATION_RESEND_LIMIT", cls.resend_limit)),
        )

    def link(self, token: str) -> str:
        return f"{self.public_base_url}/go/{token}"


def resolve_settings(settings: InvitationSettings | None) -> InvitationSettings:
    if settings is not None:
        return settings
    # Callers that pass nothing (directory sync, SCIM) get the running app's configuration.
    from flask import current_app

    return InvitationSettings.from_config(current_app.config)


# -- errors ----------------------------------------------------------------------------------


class InvitationError(Exception):
    """A request about an invitation that cannot be honoured; the message says why."""


class UserCannotBeInvited(InvitationError):
    pass


class ResendLimitReached(InvitationError):
    def __init__(self, limit: int, next_possible_at: datetime):
        self.limit = limit
        self.next_possible_at = next_possible_at
        super().__init__(
            f"at most {limit} invitations an hour; the next one is possible at "
            f"{next_possible_at:%H:%M} UTC"
        )


class LinkState(StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED = "used"


# Why an invitation e-mail must not go out (again): the link in it would not work.
NOT_SENDABLE = {
    "missing": _l("The invitation in this e-mail no longer exists."),
    LinkState.USED: _l("The invitation in this e-mail was already used."),
    "replaced": _l("A newer invitation replaced the one in this e-mail."),
    LinkState.REVOKED: _l("The invitation in this e-mail was withdrawn."),
    LinkState.EXPIRED: _l("The invitation in this e-mail has expired."),
}


# -- tokens ----------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def sender_for(actor: User | None) -> InvitationSender:
    """Who sent an invitation a person asked for from a screen: admin or helpdesk by role."""
    if actor is not None and actor.has_role(Role.ADMIN):
        return InvitationSender.ADMIN
    if actor is not None and actor.has_role(Role.HELPDESK):
        return InvitationSender.HELPDESK
    return InvitationSender.SYSTEM


# -- queries ---------------------------------------------------------------------------------


def live_invitations(user: User, now: datetime | None = None) -> list[Invitation]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(
                Invitation.user_id == user.id,
                Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def current_invitation(user: User) -> Invitation | None:
    """The newest invitation of `user` (live or not), for showing its state."""
    return db.session.scalars(
        sa.select(Invitation)
        .where(Invitation.user_id == user.id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(1)
    ).first()


def current_invitations(user_ids: list[int]) -> dict[int, Invitation | None]:
    """`current_invitation` of each of these people, in one indexed query (for lists)."""
    found: dict[int, Invitation | None] = dict.fromkeys(user_ids)
    if not user_ids:
        return found
    rows = db.session.scalars(
        sa.select(Invitation)
        .where(Invitation.user_id.in_(user_ids))
        .order_by(Invitation.created_at, Invitation.id)
    )
    for invitation in rows:  # oldest first: the newest of each person stays
        found[invitation.user_id] = invitation
    return found


def history(user: User, limit: int = 20) -> list[Invitation]:
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.user_id == user.id)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            .limit(limit)
        )
    )


def state_of(invitation: Invitation | None, now: datetime | None = None) -> LinkState:
    now = now or utcnow()
    if invitation is None:
        return LinkState.UNKNOWN
    if invitation.used_at is not None:
        return LinkState.USED
    if invitation.revoked_at is not None:
        return LinkState.REVOKED
    if invitation.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.VALID


def next_possible_at(
    user: User, *, now: datetime | None = None, settings: InvitationSettings | None = None
) -> datetime | None:
    """When `user` may next be sent an invitation, or None if now is fine.

    Counted from the invitation rows, so the limit holds across app instances.
    """
    settings = resolve_settings(settings)
    now = now or utcnow()
    since = now - settings.resend_window
    recent = list(
        db.session.scalars(
            sa.select(Invitation.created_at)
            .where(Invitation.user_id == user.id, Invitation.created_at > since)
            .order_by(Invitation.created_at.desc())
            .limit(settings.resend_limit)
        )
    )
    if len(recent) < settings.resend_limit:
        return None
    # The oldest of the last `limit` sends leaves the window first.
    return recent[-1] + settings.resend_window


def lookup(token: str, now: datetime | None = None) -> tuple[LinkState, Invitation | None]:
    """The invitation a /go token names and its state. Never raises on odd input."""
    if not isinstance(token, str) or not 20 <= len(token) <= 128:
        return LinkState.UNKNOWN, None
    digest = hash_token(token)
    invitation = db.session.scalars(
        sa.select(Invitation).where(Invitation.token_hash == digest)
    ).first()
    # The indexed lookup finds the row; compare the full hash in constant time as well.
    if invitation is None or not hmac.compare_digest(invitation.token_hash, digest):
        return LinkState.UNKNOWN, None
    return state_of(invitation, now), invitation


# -- changes ---------------------------------------------------------------------------------


def _revoke(invitation: Invitation, now: datetime, reason: str = LinkState.REVOKED) -> None:
    invitation.revoked_at = now
    # A queued e-mail for a token that no longer works need not go out; a worker about to
    # send it sees the cancel (one sending it right now marks it sent).
    if invitation.outbox_message_id:
        outbox.cancel(invitation.outbox_message_id, NOT_SENDABLE[reason])


def invite(
    user: User,
    *,
    actor: User | None,
    sent_by: InvitationSender,
    channel: str = "web",
    now: datetime | None = None,
    settings: InvitationSettings | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation for `user`, queue its e-mail, and return it with the raw token.

    Any live invitation of `user` is revoked (a resend replaces the previous link). At most
    `resend_limit` invitations per user per hour: beyond, `ResendLimitReached` says when the
    next one is possible. The caller commits.
    """
    from . import email

    settings = resolve_settings(settings)
    now = now or utcnow()
    if not user.active:
        raise UserCannotBeInvited("this account is deactivated")
    if not user.email:
        raise UserCannotBeInvited("this account has no e-mail address")
    # Two app instances sending for the same person at once: the second waits for the
    # first, then counts its row (PostgreSQL; SQLite runs one writer at a time anyway).
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    wait_until = next_possible_at(user, now=now, settings=settings)
    if wait_until is not None:
        raise ResendLimitReached(settings.resend_limit, wait_until)

    replaced = live_invitations(user, now)
    for old in replaced:
        _revoke(old, now, "replaced")
    token, digest = new_token()
    expires_at = now + timedelta(days=settings.ttl_days)
    message = email.queue_invitation(user, expires_at, settings.link(token), settings, now=now)
    invitation = Invitation(
        user_id=user.id,
        token_hash=digest,
        expires_at=expires_at,
        sent_by=InvitationSender(sent_by),
        sent_by_user_id=actor.id if actor is not None else None,
        delivery_status=DeliveryStatus.QUEUED,
        outbox_message_id=message.id,
        created_at=now,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        actor,
        "invitation.resent" if replaced else "invitation.sent",
        channel=channel,
        target=user,
        after={
            "invitation": invitation.id,
            "sent_by": str(invitation.sent_by),
            "expires_at": invitation.expires_at.isoformat(),
            "revoked": [old.id for old in replaced],
        },
    )
    return invitation, token


def resend(
    user: User,
    *,
    actor: User | None,
    sent_by: InvitationSender,
    channel: str = "web",
    now: datetime | None = None,
    settings: InvitationSettings | None = None,
) -> tuple[Invitation, str]:
    """A new link replacing the live one (same rules as `invite`)."""
    return invite(user, actor=actor, sent_by=sent_by, channel=channel, now=now, settings=settings)


def revoke(invitation: Invitation, *, actor: User | None, channel: str = "web", now=None) -> bool:
    """Revoke one invitation; False if it was no longer live. The caller commits."""
    now = now or utcnow()
    if state_of(invitation, now) is not LinkState.VALID:
        return False
    _revoke(invitation, now)
    audit.record(
        actor,
        "invitation.revoked",
        channel=channel,
        target=invitation.user,
        after={"invitation": invitation.id},
    )
    return True


def revoke_all(user: User, *, actor: User | None, channel: str, now=None) -> int:
    """Revoke every live invitation of `user` (deactivation); returns how many. Caller commits."""
    now = now or utcnow()
    live = live_invitations(user, now)
    for invitation in live:
        _revoke(invitation, now)
    if live:
        audit.record(
            actor,
            "invitation.revoked",
            channel=channel,
            target=user,
            after={"invitations": [i.id for i in live]},
        )
    return len(live)


class WrongUser(InvitationError):
    """The link belongs to another account than the signed-in one."""


def mark_used(
    invitation: Invitation, *, user: User, channel: str = "web", now: datetime | None = None
) -> None:
    """The invitee arrived through the link: the token cannot be used again. Caller commits."""
    now = now or utcnow()
    if invitation.user_id != user.id:
        raise WrongUser("this link belongs to another account")
    if state_of(invitation, now) is not LinkState.VALID:
        raise InvitationError(f"this link is {state_of(invitation, now)}")
    invitation.used_at = now
    audit.record(
        user, "invitation.used", channel=channel, target=user, after={"invitation": invitation.id}
    )
