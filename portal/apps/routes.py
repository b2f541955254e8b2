"""The app catalogue pages (admins edit, helpdesk reads) and installing an app on a device."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import abort

from ..access import role_required
from ..admin.form_errors import field_error
from ..apple.forms import ConfirmForm
from ..directory import service as directory
from ..directory.groups import list_groups
from ..extensions import db
from ..htmx import render
from ..models import App, AppOffer, Device, Group, LicenceType, Role, User
from . import catalogue, licences, self_service, service, sync
from .client import AppsAndBooksError
from .forms import LICENCE_LABELS, PLATFORM_LABELS, AppEditForm, AppForm, InstallForm

bp = Blueprint("apps", __name__, url_prefix="/admin")

LABELS = {
    "platform_choice_labels": PLATFORM_LABELS,
    "licence_labels": LICENCE_LABELS,
}


def _actor() -> User:
    return current_user._get_current_object()


def _org():
    try:
        return directory.organization()
    except directory.NoOrganization:
        return None


def _catalogue(status: int = 200, form: AppForm | None = None):
    can_edit = current_user.has_role(Role.ADMIN)
    return render(
        "apps/catalogue.html",
        status=status,
        apps=catalogue.all_apps(),
        form=form or AppForm(formdata=None, total_licences=0),
        confirm_form=ConfirmForm(formdata=None),
        can_edit=can_edit,
        has_token=service.apple_client(current_app.config) is not None,
        **LABELS,
    )


@bp.get("/apps", endpoint="catalogue")
@role_required(Role.HELPDESK)
def catalogue_list():
    """The apps the organization holds Apps & Books licences for, with their counts."""
    return _catalogue()


@bp.post("/apps")
@role_required(Role.ADMIN)
def add_app():
    form = AppForm()
    if not form.validate_on_submit():
        return _catalogue(400, form)
    try:
        app = catalogue.add(
            _actor(),
            adam_id=form.adam_id.data,
            name=form.name.data,
            platform=form.platform.data,
            licence_type=form.licence_type.data,
            total_licences=form.total_licences.data,
        )
    except catalogue.CatalogueError as exc:
        db.session.rollback()
        field_error(form, exc)
        return _catalogue(exc.status, form)
    db.session.commit()
    flash(_("%(name)s is in the catalogue.", name=app.name), "success")
    return redirect(url_for("apps.app_detail", app_id=app.id), 303)


@bp.post("/apps/sync")
@role_required(Role.ADMIN)
def sync_now():
    """Take the licence counts from Apple's Apps and Books service."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    client = service.apple_client(current_app.config)
    if client is None:
        flash(_("Upload the Apps and Books location token first (Apple setup)."), "error")
        return redirect(url_for("apps.catalogue"), 303)
    try:
        result = sync.sync(_actor(), client)
    except AppsAndBooksError as exc:
        db.session.rollback()
        flash(
            _("Apple's Apps and Books service refused the sync: %(error)s", error=str(exc)), "error"
        )
        return redirect(url_for("apps.catalogue"), 303)
    db.session.commit()
    flash(
        _(
            "Synced with Apple: %(added)d apps added, %(updated)d updated, %(released)d "
            "licences released.",
            added=len(result.added),
            updated=len(result.updated),
            released=result.released_at_apple,
        ),
        "success",
    )
    return redirect(url_for("apps.catalogue"), 303)


def _app(app_id: int) -> App:
    return db.get_or_404(App, app_id)


def _detail(app: App, status: int = 200, form: AppEditForm | None = None):
    return render(
        "apps/detail.html",
        status=status,
        app=app,
        form=form
        or AppEditForm(
            formdata=None,
            name=app.name,
            platform=str(app.platform),
            licence_type=str(app.licence_type),
            total_licences=app.total_licences,
        ),
        confirm_form=ConfirmForm(formdata=None),
        holders=licences.holders_of(app),
        offers=self_service.offers_of(app),
        offer_groups=list_groups(),
        can_edit=current_user.has_role(Role.ADMIN),
        **LABELS,
    )


@bp.get("/apps/<int:app_id>")
@role_required(Role.HELPDESK)
def app_detail(app_id: int):
    """One app: its counts and who holds its licences."""
    return _detail(_app(app_id))


@bp.post("/apps/<int:app_id>")
@role_required(Role.ADMIN)
def edit_app(app_id: int):
    app = _app(app_id)
    form = AppEditForm()
    if not form.validate_on_submit():
        return _detail(app, 400, form)
    try:
        catalogue.update(
            _actor(),
            app,
            name=form.name.data,
            platform=form.platform.data,
            licence_type=form.licence_type.data,
            total_licences=form.total_licences.data,
        )
    except catalogue.CatalogueError as exc:
        db.session.rollback()
        app = _app(app_id)
        field_error(form, exc)
        return _detail(app, exc.status, form)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("apps.app_detail", app_id=app.id), 303)


@bp.post("/apps/<int:app_id>/delete")
@role_required(Role.ADMIN)
def delete_app(app_id: int):
    app = _app(app_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        catalogue.remove(_actor(), app)
    except catalogue.CatalogueError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("apps.app_detail", app_id=app_id), 303)
    db.session.commit()
    flash(_("The app is removed from the catalogue."), "success")
    return redirect(url_for("apps.catalogue"), 303)


@bp.post("/apps/<int:app_id>/offers")
@role_required(Role.ADMIN)
def offer_app(app_id: int):
    """Offer the app to a group (or everyone), optionally required."""
    app = _app(app_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    group = None
    group_id = request.form.get("group_id", "")
    if group_id:
        group = db.session.get(Group, int(group_id)) if group_id.isdigit() else None
        if group is None:
            abort(404)
    required = bool(request.form.get("required"))
    self_service.offer(_actor(), app, group, required=required)
    db.session.commit()
    flash(
        _(
            "%(app)s is offered to %(who)s.",
            app=app.name,
            who=group.name if group else _("everyone"),
        ),
        "success",
    )
    return redirect(url_for("apps.app_detail", app_id=app.id) + "#app-offers", 303)


@bp.post("/apps/<int:app_id>/offers/<int:offer_id>/delete")
@role_required(Role.ADMIN)
def withdraw_offer(app_id: int, offer_id: int):
    offer = db.get_or_404(AppOffer, offer_id)
    if offer.app_id != app_id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    self_service.withdraw(_actor(), offer)
    db.session.commit()
    flash(_("The app is no longer offered there."), "success")
    return redirect(url_for("apps.app_detail", app_id=app_id) + "#app-offers", 303)


def install_context(actor: User, device: Device) -> dict:
    """What the device page's "Apps" section shows: each catalogue app for the device's
    platform, and why it cannot be installed where it cannot (e.g. device-based licences
    under User Enrollment)."""
    offers = []
    for app in catalogue.all_apps():
        try:
            service.check(actor, device, app)
        except service.InstallRefused as exc:
            if exc.code == "wrong_platform":
                continue
            offers.append((app, str(exc)))
        else:
            offers.append((app, None))
    return {
        "app_offers": offers,
        "install_form": InstallForm(formdata=None),
        "device_licences": licences.held_for_device(device),
        **LABELS,
    }


@bp.post("/devices/<int:device_id>/apps")
@role_required(Role.ADMIN)
def install(device_id: int):
    """Install a catalogue app on the device, with its licence."""
    device = db.get_or_404(Device, device_id)
    form = InstallForm()
    back = redirect(url_for("admin.device_detail", device_id=device.id) + "#apps", 303)
    if not form.validate_on_submit():
        flash(_("Choose an app from the catalogue."), "error")
        return back
    app = db.session.get(App, form.app_id.data)
    if app is None:
        flash(_("Choose an app from the catalogue."), "error")
        return back
    try:
        outcome = service.install(
            _actor(), device, app, org=_org(), client=service.apple_client(current_app.config)
        )
    except service.InstallRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    if outcome.ok:
        if app.licence_type == LicenceType.USER:
            flash(
                _("%(app)s is being installed, with a user-based licence.", app=app.name), "success"
            )
        else:
            flash(
                _("%(app)s is being installed, with a device-based licence.", app=app.name),
                "success",
            )
    else:
        flash(licences.describe(outcome.failure), "error")
    return back
