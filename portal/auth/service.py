"""Sign-in use cases: credential checks and server-side sessions.

No request or `current_user` here: callers pass what they read from the request.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import User, UserSession, UserSource, utcnow
from ..passwords import passwords

log = logging.getLogger(__name__)

# Writing last_seen on every request would cost a write per page; once a minute suffices.
_TOUCH_EVERY = timedelta(minutes=1)


class InvalidCredentials(Exception):
    """Unknown account, wrong password or disabled account: one answer for all."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def authenticate_local(email: str, password: str) -> User:
    """The local account for `email` if `password` is right, else InvalidCredentials."""
    user = find_user_by_email(email)
    # A local account Entra ID took over (matched by SCIM) keeps the password it had.
    usable = (
        user is not None
        and user.active
        and (
            user.source == UserSource.LOCAL
            or (user.source == UserSource.ENTRA and user.password_hash is not None)
        )
    )
    # Verify even when there is no account, so timing does not tell which it was.
    ok = passwords.verify(user.password_hash if usable else None, password or "")
    if not (usable and ok):
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    return user


def authenticate(email: str, password: str, *, ldap=None) -> tuple[User, str]:
    """The account `email` and `password` sign in to, and how ("local" or "ldap").

    Local accounts check their password hash. With LDAP configured (`ldap`: LdapSettings),
    LDAP accounts, and unknown ones when just-in-time import is on, bind to the directory.
    Every failure, a directory that is down included, is InvalidCredentials.
    """
    user = find_user_by_email(email)
    via_ldap = ldap is not None and (
        (user is None and ldap.jit_users) or (user is not None and user.source == UserSource.LDAP)
    )
    if not via_ldap:
        return authenticate_local(email, password), "local"
    from ..directory import ldap_import
    from ..directory.ldap import LdapError
    from ..directory.service import DirectoryError

    try:
        found = ldap_import.sign_in(ldap, normalize_email(email), password or "")
    except (LdapError, DirectoryError) as exc:
        log.warning("LDAP sign-in impossible: %s", exc)
        found = None
    if found is None:
        db.session.rollback()
        raise InvalidCredentials()
    return found, "ldap"


def start_session(user: User, method: str = "local") -> str:
    """Open a new server-side session for `user`; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=_digest(token), user_id=user.id, method=method))
    db.session.commit()
    return token


# Built once (every signed-in request runs it): the session and its user in one query.
_SESSION_WITH_USER = (
    sa.select(UserSession, User)
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.id == sa.bindparam("id"))
)


@functools.cache
def _with_column(also: sa.ColumnElement) -> sa.Select:
    """The session query with `also` added, built once per expression (callers build their
    expressions once: a statement built anew on every request costs more than it runs)."""
    return _SESSION_WITH_USER.add_columns(also)


def load_session(
    token: str, *, idle: timedelta, maximum: timedelta, now: datetime | None = None
) -> User | None:
    """The user of a live session, or None when it ended, idled out or grew too old."""
    return load_session_with(token, idle=idle, maximum=maximum, now=now)[0]


def load_session_with(
    token: str,
    *,
    idle: timedelta,
    maximum: timedelta,
    also: sa.ColumnElement | None = None,
    params: dict | None = None,
    now: datetime | None = None,
) -> tuple[User | None, object]:
    """`load_session`, and the value of `also` (a column expression over `User`, with its
    `params`) read in the same statement: (user or None, value or None)."""
    if not token:
        return None, None
    now = now or utcnow()
    query = _SESSION_WITH_USER if also is None else _with_column(also)
    found = db.session.execute(query, {"id": _digest(token), **(params or {})}).first()
    if found is None:
        return None, None
    row, user = found[0], found[1]
    value = found[2] if also is not None else None
    if row.ended_at is not None:
        return None, None
    if now - row.last_seen_at > idle or now - row.created_at > maximum:
        row.ended_at = now
        db.session.commit()
        return None, None
    if not user.active:
        return None, None
    if now - row.last_seen_at > _TOUCH_EVERY:
        # End the read transaction first: the write then starts its own and waits its turn
        # on SQLite instead of failing (see portal.sqlite). One conditional UPDATE: two
        # requests of the same browser touch it once.
        session_id = row.id
        db.session.commit()
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.id == session_id, UserSession.last_seen_at < now - _TOUCH_EVERY)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return user, value


def end_session(token: str | None) -> None:
    if not token:
        return
    row = db.session.get(UserSession, _digest(token))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        db.session.commit()


def end_expired_sessions(
    *, idle: timedelta, maximum: timedelta, now: datetime | None = None
) -> int:
    """End every session past its idle or maximum time (the worker's job); the caller commits.

    `load_session` refuses them anyway: this keeps the table to live sessions."""
    now = now or utcnow()
    return db.session.execute(
        sa.update(UserSession)
        .where(
            UserSession.ended_at.is_(None),
            sa.or_(UserSession.last_seen_at < now - idle, UserSession.created_at < now - maximum),
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def end_all_sessions(user: User) -> None:
    """Sign a user out everywhere (disabled accounts, password changes)."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
