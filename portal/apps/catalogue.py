"""The app catalogue: the apps the organization holds Apps & Books licences for.

Without a location token the licence counts are the admin's; with one, `sync` takes them from
Apple. Callers commit.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..domain import DomainError
from ..extensions import db
from ..models import App, LicenceAssignment, LicenceType, Platform, User

ADAM_ID = re.compile(r"[1-9][0-9]{0,19}")
MAX_NAME = 200
MAX_LICENCES = 10_000_000


class CatalogueError(DomainError):
    """A catalogue change refused: `field` names the form field at fault, if any."""


def _summary(app: App) -> dict:
    return {
        "adam_id": app.adam_id,
        "name": app.name,
        "platform": str(app.platform),
        "licence_type": str(app.licence_type),
        "total_licences": app.total_licences,
    }


def all_apps() -> list[App]:
    return list(db.session.scalars(sa.select(App).order_by(sa.func.lower(App.name), App.id)))


def _clean_adam_id(value: str | None) -> str:
    text = (value or "").strip()
    match = re.search(r"/id([0-9]+)", text)  # an App Store link: …/app/name/id284882215
    if match:
        text = match.group(1)
    if not ADAM_ID.fullmatch(text):
        raise CatalogueError(
            _l("Give the app's Apple ID: the number in its App Store link (…/id284882215)."),
            field="adam_id",
        )
    return text


def _clean(name, platform, licence_type, total) -> tuple[str, Platform, LicenceType, int]:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise CatalogueError(_l("Give the app's name."), field="name")
    if len(cleaned) > MAX_NAME:
        raise CatalogueError(_l("Use at most %(num)d characters.", num=MAX_NAME), field="name")
    try:
        platform = Platform(platform)
        licence_type = LicenceType(licence_type)
    except ValueError:
        raise CatalogueError(
            _l("Choose a platform and a licence type."), field="platform"
        ) from None
    if platform == Platform.IPADOS:
        platform = Platform.IOS  # one App Store app serves iPhones and iPads
    if not isinstance(total, int) or not 0 <= total <= MAX_LICENCES:
        raise CatalogueError(
            _l("Give a number of licences between 0 and %(max)d.", max=MAX_LICENCES),
            field="total_licences",
        )
    return cleaned, platform, licence_type, total


def add(actor: User, *, adam_id, name, platform, licence_type, total_licences) -> App:
    adam = _clean_adam_id(adam_id)
    name, platform, licence_type, total = _clean(name, platform, licence_type, total_licences)
    if db.session.scalar(sa.select(App.id).where(App.adam_id == adam)) is not None:
        raise CatalogueError(
            _l("This app is already in the catalogue."), field="adam_id", status=409
        )
    app = App(
        adam_id=adam,
        name=name,
        platform=platform,
        licence_type=licence_type,
        total_licences=total,
        assigned_licences=0,
    )
    db.session.add(app)
    db.session.flush()
    audit.record(actor, "app.added", target=app, after=_summary(app))
    return app


def in_use(app: App) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LicenceAssignment)
            .where(LicenceAssignment.app_id == app.id, LicenceAssignment.released_at.is_(None))
        )
        or 0
    )


def update(actor: User, app: App, *, name, platform, licence_type, total_licences) -> App:
    """Rename, recount or retype an app; never below the licences in use, and the licence type
    only while none is in use."""
    name, platform, licence_type, total = _clean(name, platform, licence_type, total_licences)
    used = in_use(app)
    if total < used:
        raise CatalogueError(
            _l("%(used)d licences are in use: the app needs at least that many.", used=used),
            field="total_licences",
            status=409,
        )
    if (licence_type != app.licence_type or platform != app.platform) and used:
        raise CatalogueError(
            _l("Licences of this app are in use: its type and platform cannot change now."),
            field="licence_type",
            status=409,
        )
    before = _summary(app)
    app.name, app.platform, app.licence_type, app.total_licences = (
        name,
        platform,
        licence_type,
        total,
    )
    after = _summary(app)
    if after != before:
        audit.record(actor, "app.updated", target=app, before=before, after=after)
    return app


def remove(actor: User, app: App) -> None:
    used = in_use(app)
    if used:
        raise CatalogueError(
            _l(
                "%(used)d licences of this app are in use: they are freed when the devices "
                "leave management.",
                used=used,
            ),
            status=409,
        )
    audit.record(actor, "app.removed", target=app, before=_summary(app))
    db.session.delete(app)
