"""Verified OpenID Connect claims → the portal account they sign in to.

No request here: the view passes the claims it verified and the settings it read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Role, User, UserSource


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

    def __init__(self, message, log_detail: str):
        super().__init__(log_detail)
        self.message = message


NO_ACCOUNT = _l(
    "Your company account signed you in, but there is no portal account for it. "
    "Ask your IT helpdesk to add you."
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


def account_for(claims: Mapping, settings: OidcSettings) -> User:
    """The active account the claims name; created (Entra, employee) with just-in-time on.

    Raises NoAccount. A created account is flushed, not committed: the caller commits.
    """
    login = login_of(claims, settings.user_claim)
    user = find_account(login)
    if user is None:
        if not settings.jit_users:
            raise NoAccount(NO_ACCOUNT, "unknown account, just-in-time creation off")
        user = _create(claims, login)
    if not user.active:
        raise NoAccount(DEACTIVATED, f"account {user.id} is deactivated")
    return user


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
