"""Directory use cases: creating users and giving them Managed Apple IDs.

Services take the acting user as an argument and never read the request. They flush but do
not commit: the caller commits (a view once per form, an import once per batch) or rolls
back. On bad input they raise a `DirectoryError` before anything is added to the session.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..domain import DomainError
from ..extensions import db
from ..models import Organization, Role, User, UserSource
from ..passwords import passwords
from ..privacy import mask_apple_id
from . import apple_id

log = logging.getLogger(__name__)

MAX_EMAIL = 320
MAX_NAME = 200
MIN_PASSWORD = 12
MAX_PASSWORD = 1000


class DirectoryError(DomainError):
    """A directory change refused; `field` names the form field at fault, if any."""

    field: str | None = None
    default_message = _l("That change to the directory cannot be made.")


class InvalidEmail(DirectoryError):
    field = "email"
    default_message = _l("Enter a valid e-mail address, like jane.doe@example.com.")


class DuplicateEmail(DirectoryError):
    field = "email"
    default_message = _l("Another account already uses this e-mail address.")


class InvalidUpn(DirectoryError):
    field = "upn"
    default_message = _l("Enter a valid user principal name, like jane.doe@corp.example.com.")


class DuplicateUpn(DirectoryError):
    field = "upn"
    default_message = _l("Another account already uses this user principal name.")


class InvalidDisplayName(DirectoryError):
    field = "display_name"
    default_message = _l("Enter a name of at most 200 characters.")


class InvalidRole(DirectoryError):
    field = "role"
    default_message = _l("Choose a role: employee, helpdesk or administrator.")


class InvalidSource(DirectoryError):
    field = "source"
    default_message = _l("Unknown account source.")


class InvalidPassword(DirectoryError):
    field = "password"
    default_message = _l("A password needs at least 12 characters.")


class NoOrganization(DirectoryError):
    default_message = _l("No organization is set up yet.")


def normalize_email(raw: str | None) -> str:
    """A syntactically valid e-mail address, lower-cased (as stored), or InvalidEmail."""
    text = (raw or "").strip()
    if not text or len(text) > MAX_EMAIL:
        raise InvalidEmail()
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail() from exc
    return valid.normalized.lower()


def _normalize_upn(raw: str) -> str:
    # A UPN looks like an address but its suffix may be an internal domain (corp.local).
    text = raw.strip().lower()
    local, sep, domain = text.partition("@")
    if (
        not sep
        or not local
        or not domain
        or "@" in domain
        or len(text) > MAX_EMAIL
        or any(c.isspace() for c in text)
    ):
        raise InvalidUpn()
    return text


def _normalize_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name or len(name) > MAX_NAME:
        raise InvalidDisplayName()
    return name


def _coerce(enum_cls, value, error: type[DirectoryError]):
    try:
        return enum_cls(value)
    except ValueError as exc:
        raise error() from exc


def organization() -> Organization:
    """The organization this portal serves (the first one), or NoOrganization."""
    org = db.session.scalar(sa.select(Organization).order_by(Organization.id).limit(1))
    if org is None:
        raise NoOrganization()
    return org


def _email_taken(email: str) -> bool:
    return db.session.scalar(sa.select(User.id).where(User.email == email)) is not None


def _upn_taken(upn: str) -> bool:
    return db.session.scalar(sa.select(User.id).where(User.upn == upn)) is not None


def _holder_of(value: str, user: User) -> int | None:
    query = sa.select(User.id).where(User.managed_apple_id == value, User.id != user.id)
    return db.session.scalar(query.limit(1))


def _record_conflict(user: User, wanted: str, holder_id: int | None, *, actor, channel) -> bool:
    log.warning(
        "Managed Apple ID %s for user %s is held by user %s: conflict recorded",
        mask_apple_id(wanted),
        user.id,
        holder_id,
    )
    if user.managed_apple_id_conflict != wanted:
        before = {"managed_apple_id_conflict": user.managed_apple_id_conflict}
        user.managed_apple_id_conflict = wanted
        audit.record(
            actor,
            "user.managed_apple_id_conflict",
            channel=channel,
            target=user,
            before=before,
            after={"managed_apple_id_conflict": wanted, "held_by_user_id": holder_id},
        )
        db.session.flush()
    return False


def apply_managed_apple_id(user: User, org: Organization, *, actor, channel: str = "web") -> bool:
    """Give `user` the Managed Apple ID the org's scheme derives; True if the user holds it.

    - Derivable and free (or already the user's): set, any earlier conflict cleared, audited.
    - Held by another account: the user keeps what they had; the wanted value is stored in
      `managed_apple_id_conflict` for admins (audited once per new conflict); returns False.
    - Not derivable (e.g. the UPN scheme and no UPN): nothing changes; returns False.
    Uniqueness is checked here and enforced by the database's unique index, which also
    catches a concurrent transaction taking the same value first.
    """
    try:
        wanted = apple_id.derive(
            email=user.email,
            upn=user.upn,
            scheme=org.apple_id_scheme,
            subdomain=org.apple_id_subdomain,
        )
    except apple_id.AppleIdError:
        log.info("no Managed Apple ID can be derived for user %s", user.id)
        return False
    if user.id is None:
        db.session.flush()
    before = {
        "managed_apple_id": user.managed_apple_id,
        "managed_apple_id_conflict": user.managed_apple_id_conflict,
    }
    if user.managed_apple_id == wanted and user.managed_apple_id_conflict is None:
        return True
    holder_id = _holder_of(wanted, user)
    if holder_id is not None:
        return _record_conflict(user, wanted, holder_id, actor=actor, channel=channel)
    try:
        with db.session.begin_nested():
            user.managed_apple_id = wanted
            user.managed_apple_id_conflict = None
            db.session.flush()
    except IntegrityError:
        # Taken between our check and the write: the savepoint undid only this change.
        return _record_conflict(
            user, wanted, _holder_of(wanted, user), actor=actor, channel=channel
        )
    audit.record(
        actor,
        "user.managed_apple_id_set",
        channel=channel,
        target=user,
        before=before,
        after={"managed_apple_id": wanted, "managed_apple_id_conflict": None},
    )
    db.session.flush()
    return True


def create_user(
    actor: User | None,
    *,
    org: Organization,
    email: str,
    display_name: str,
    role: Role | str,
    source: UserSource | str,
    upn: str | None = None,
    password: str | None = None,
    channel: str = "web",
) -> User:
    """Create an account and derive its Managed Apple ID; audited as `user.created`.

    Raises InvalidEmail, DuplicateEmail, InvalidUpn, DuplicateUpn, InvalidDisplayName,
    InvalidRole, InvalidSource or InvalidPassword (all `DirectoryError`) before changing
    anything. A Managed Apple ID held by another account does not stop the creation: the
    conflict is recorded on the new user (see `apply_managed_apple_id`).
    """
    email = normalize_email(email)
    name = _normalize_name(display_name)
    role = _coerce(Role, role, InvalidRole)
    source = _coerce(UserSource, source, InvalidSource)
    upn = _normalize_upn(upn) if upn and upn.strip() else None
    if password:
        if source != UserSource.LOCAL:
            raise InvalidPassword(_l("Only local accounts have a password in the portal."))
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidPassword()
    if _email_taken(email):
        raise DuplicateEmail()
    if upn and _upn_taken(upn):
        raise DuplicateUpn()

    user = User(
        org_id=org.id,
        email=email,
        upn=upn,
        display_name=name,
        role=role,
        source=source,
        password_hash=passwords.hash(password) if password else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError as exc:
        # Another transaction created the same account in the meantime.
        if _email_taken(email):
            raise DuplicateEmail() from exc
        raise DuplicateUpn() from exc
    audit.record(
        actor,
        "user.created",
        channel=channel,
        target=user,
        after={
            "email": email,
            "display_name": name,
            "role": role.value,
            "source": source.value,
            "upn": upn,
            "password_set": bool(password),
        },
    )
    apply_managed_apple_id(user, org, actor=actor, channel=channel)
    return user


def name_or_email_contains(text: str) -> sa.ColumnElement[bool]:
    """People whose name or e-mail contains `text`, in any case (`%` and `_` are literal).

    Written as `lower(column) LIKE` so that PostgreSQL answers from the trigram indexes on
    `lower(display_name)` and `lower(email)` instead of reading every account.
    """
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return sa.or_(
        sa.func.lower(User.display_name).like(pattern, escape="\\"),
        sa.func.lower(User.email).like(pattern, escape="\\"),
    )


def user_search(text: str = "", *, conflicts_only: bool = False) -> sa.Select:
    """Users whose name or e-mail contains `text`, by name; optionally only conflicts."""
    query = sa.select(User).order_by(sa.func.lower(User.display_name), User.id)
    text = " ".join((text or "").split())
    if text:
        query = query.where(name_or_email_contains(text))
    if conflicts_only:
        query = query.where(User.managed_apple_id_conflict.is_not(None))
    return query
