"""The employee's work apps: the catalogue of apps offered to their groups, "Install" on their
own enrolled device, and the install's progress (htmx polling until the device reports it)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import role_required
from ..apple.forms import ConfirmForm
from ..directory import service as directory
from ..extensions import db
from ..htmx import render, wants_fragment
from ..models import App, AppInstallState, Device, Role
from . import licences, self_service, service

bp = Blueprint("workapps", __name__)

WAITING = (AppInstallState.REQUESTED, AppInstallState.INSTALLING)


def _org():
    try:
        return directory.organization()
    except directory.NoOrganization:
        return None


def _context(message: str | None = None, error: str | None = None) -> dict:
    user = current_user._get_current_object()
    offers = self_service.offers_for(user)
    devices = self_service.devices_of(user)
    states = self_service.states_for(devices)
    rows = []
    for offer in offers:
        cells = []
        for device in devices:
            if device.platform not in licences.platforms_of(offer.app):
                continue
            cells.append(
                {
                    "device": device,
                    "state": states.get((device.id, offer.app.id)),
                    "refusal": self_service.refusal(user, device, offer.app),
                }
            )
        rows.append({"offer": offer, "cells": cells})
    waiting = any(
        cell["state"] is not None and cell["state"].state in WAITING
        for row in rows
        for cell in row["cells"]
    )
    return {
        "rows": rows,
        "devices": devices,
        "waiting": waiting,
        "form": ConfirmForm(formdata=None),
        "state_labels": self_service.STATE_LABELS,
        "message": message,
        "error": error,
    }


@bp.get("/apps")
@role_required(Role.EMPLOYEE)
def index():
    """The work apps offered to the signed-in person, per enrolled device."""
    return render("workapps/index.html", "workapps/_catalogue.html", **_context())


@bp.post("/apps/<int:app_id>/install")
@role_required(Role.EMPLOYEE)
def install(app_id: int):
    """Install an offered app on one of the person's own enrolled devices."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    app = db.get_or_404(App, app_id)
    device = db.session.get(Device, request.form.get("device_id", type=int) or 0)
    user = current_user._get_current_object()
    if device is None or device.user_id != user.id:
        abort(404)
    try:
        outcome = self_service.install_own(
            user, device, app, org=_org(), client=service.apple_client(current_app.config)
        )
    except service.InstallRefused as exc:
        db.session.rollback()
        if wants_fragment():
            return render("workapps/_catalogue.html", status=exc.status, **_context(error=str(exc)))
        return render("workapps/index.html", status=exc.status, **_context(error=str(exc)))
    db.session.commit()
    if outcome.ok:
        message = _("%(app)s is being installed on %(device)s.", app=app.name,
                    device=device.name or device.model)  # fmt: skip
        error = None
    else:
        # No licence could be had: the admins are notified; the person is told plainly.
        message = None
        error = _(
            "%(app)s cannot be installed right now: no licence is available. Your IT team "
            "has been told.",
            app=app.name,
        )
    if wants_fragment():
        return render("workapps/_catalogue.html", **_context(message=message, error=error))
    return redirect(url_for("workapps.index"), 303)
