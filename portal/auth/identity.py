"""Verified OpenID Connect claims → the portal account they sign in to.

No request here: the view passes the claims it verified and the settings it read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..extensions import db
from ..models import OidcIdentity, Role, User, UserSource, utcnow


@dataclass(frozen=True)
class OidcSettings:
    # The claim that names the account: email, preferred_username or upn.
    user_claim: str = "email"
    jit_users: bool = False

    @classmethod
    def from_config(cls, config: Mapping) -> OidcSettings:
        return cls(
            user_claim=(config.get("OIDC_USER_CLAIM") or "email").strip(),
            jit_users=bool(config.get("OIDC_JIT_USERS")),
        )


class NoAccount(Exception):
    """The claims name no usable account; `message` tells the person what to do."""

    def __init__(self, message, log_detail: str, title=None):
        super().__init__(log_detail)
        self.message = message
        self.title = title


NO_ACCOUNT = _l(
    "Your company account signed you in, but there is no portal account for it. "
    "Ask your IT helpdesk to add you."
)
REBOUND_TITLE = _l("This account belongs to someone else")
REBOUND = _l(
    "Your company account signed you in, but the portal account for this address was "
    "opened by another person's company account, so you were not signed in to it. This "
    "happens when an address is given to someone new. Ask your IT helpdesk."
)
DEACTIVATED = _l("Your portal account is deactivated. Ask your IT helpdesk if this is a mistake.")
NO_CLAIM = _l(
    "Your company's sign-in service did not say who you are in a way this portal "
    "understands. Tell your IT helpdesk (the portal's OIDC_USER_CLAIM setting)."
)


def login_of(claims: Mapping, claim: str) -> str:
    """The lower-cased account name the configured claim carries, or NoAccount."""
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip() or len(value) > 320:
        raise NoAccount(NO_CLAIM, f"claim {claim!r} missing or unusable")
    if claim == "email" and claims.get("email_verified") is False:
        # A provider that says the address is unverified does not vouch for it.
        raise NoAccount(NO_ACCOUNT, "email_verified is false")
    return value.strip().lower()


def find_account(login: str) -> User | None:
    return db.session.scalar(
        sa.select(User).where(sa.or_(User.email == login, User.upn == login)).limit(1)
    )


def _claim_id(claims: Mapping, name: str, limit: int) -> str | None:
    value = claims.get(name)
    if isinstance(value, str) and value.strip() and len(value) <= limit:
        return value.strip()
    return None


def bound_identity(claims: Mapping) -> OidcIdentity | None:
    """The identity these verified claims were bound to: issuer and `sub`, or Entra's
    tenant and object id (stable across the company's app registrations)."""
    issuer, subject = _claim_id(claims, "iss", 500), _claim_id(claims, "sub", 255)
    found = None
    if issuer and subject:
        found = db.session.scalar(
            sa.select(OidcIdentity).where(
                OidcIdentity.issuer == issuer, OidcIdentity.subject == subject
            )
        )
    tenant, object_id = _claim_id(claims, "tid", 64), _claim_id(claims, "oid", 64)
    if found is None and tenant and object_id:
        found = db.session.scalar(
            sa.select(OidcIdentity).where(
                OidcIdentity.tenant_id == tenant.lower(),
                OidcIdentity.object_id == object_id.lower(),
            )
        )
    return found


def account_for(claims: Mapping, settings: OidcSettings) -> User:
    """The active account the claims sign in to; created (Entra, employee) with
    just-in-time on.

    An identity (issuer + subject) already bound leads to its account, whatever its e-mail
    says now. Otherwise the configured claim names the account, which is then bound to this
    identity; an account already bound to another identity is refused: its address was
    given to someone else. Raises NoAccount; flushes, the caller commits.
    """
    identity = bound_identity(claims)
    if identity is not None:
        user = identity.user
        identity.last_used_at = utcnow()
        if identity.subject != claims.get("sub") or identity.issuer != claims.get("iss"):
            # Same Entra user (tid + oid), another app registration: follow it.
            identity.issuer, identity.subject = str(claims["iss"]), str(claims["sub"])
    else:
        login = login_of(claims, settings.user_claim)
        user = find_account(login)
        if user is None:
            if not settings.jit_users:
                raise NoAccount(NO_ACCOUNT, "unknown account, just-in-time creation off")
            user = _create(claims, login)
        elif db.session.scalar(sa.select(OidcIdentity.id).where(OidcIdentity.user_id == user.id)):
            raise NoAccount(
                REBOUND,
                f"account {user.id} is bound to another identity; {login!r} was reused",
                title=REBOUND_TITLE,
            )
        if user.active:
            _bind(user, claims)
    if not user.active:
        raise NoAccount(DEACTIVATED, f"account {user.id} is deactivated")
    return user


def _bind(user: User, claims: Mapping) -> OidcIdentity:
    tenant, object_id = _claim_id(claims, "tid", 64), _claim_id(claims, "oid", 64)
    identity = OidcIdentity(
        user_id=user.id,
        issuer=_claim_id(claims, "iss", 500) or "",
        subject=_claim_id(claims, "sub", 255) or "",
        tenant_id=tenant.lower() if tenant and object_id else None,
        object_id=object_id.lower() if tenant and object_id else None,
        last_used_at=utcnow(),
    )
    db.session.add(identity)
    db.session.flush()
    audit.record(
        None,
        "user.oidc_bound",
        channel="web",
        target=user,
        after={"issuer": identity.issuer, "subject": identity.subject[:64]},
    )
    return identity


def unbind(user: User, *, actor: User | None, channel: str = "cli") -> int:
    """Release an account's OpenID identities (a provider change, a mistaken binding):
    its next company sign-in binds it again. Audited; flushes."""
    rows = db.session.scalars(sa.select(OidcIdentity).where(OidcIdentity.user_id == user.id)).all()
    for row in rows:
        db.session.delete(row)
    if rows:
        audit.record(
            actor,
            "user.oidc_unbound",
            channel=channel,
            target=user,
            before={"issuers": sorted({r.issuer for r in rows})},
        )
    db.session.flush()
    return len(rows)


def _text(claims: Mapping, name: str) -> str | None:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _create(claims: Mapping, login: str) -> User:
    from ..directory import service as directory_service

    email = (_text(claims, "email") or login).lower()
    # Entra puts the UPN in `upn` or `preferred_username`; other providers, maybe a nickname.
    upn = _text(claims, "upn") or _text(claims, "preferred_username")
    upn = upn.lower() if upn and "@" in upn else None
    try:
        org = directory_service.organization()
        domain = email.rpartition("@")[2]
        if org.domains and domain not in {d.lower() for d in org.domains}:
            raise NoAccount(NO_ACCOUNT, f"just-in-time: {domain!r} is not one of the org's domains")
        return directory_service.create_user(
            None,
            org=org,
            email=email,
            display_name=(_text(claims, "name") or email.partition("@")[0])[:200],
            role=Role.EMPLOYEE,
            source=UserSource.ENTRA,
            upn=upn,
            channel="web",
        )
    except directory_service.DirectoryError as exc:
        raise NoAccount(NO_ACCOUNT, f"just-in-time creation refused: {exc.args[0]}") from exc
