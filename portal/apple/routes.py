"""The Apple setup page: a checklist admins complete and helpdesk can read."""

from __future__ import annotations

from flask import current_app, flash, make_response, redirect, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import abort

from ..access import role_required
from ..apps import licences
from ..directory import service as directory
from ..extensions import db
from ..htmx import render
from ..models import Role, User
from . import bp, notifications, push_cert, setup, vpp_token
from .forms import AbmForm, CertificateForm, ConfirmForm, TokenForm


def _actor() -> User:
    return current_user._get_current_object()


def _org():
    try:
        return directory.organization()
    except directory.NoOrganization:
        abort(404)


def _page(status: int = 200, **forms):
    org = _org()
    context = {
        "abm_form": AbmForm(
            formdata=None, name=org.abm_organization_name, organization_id=org.abm_organization_id
        ),
        "token_form": TokenForm(formdata=None),
        "certificate_form": CertificateForm(formdata=None),
        "confirm_form": ConfirmForm(formdata=None),
    }
    context.update(forms)
    checklist = setup.checklist(org, str(get_locale() or "en"))
    return render(
        "apple/setup.html",
        status=status,
        checklist=checklist,
        can_edit=current_user.has_role(Role.ADMIN),
        **context,
    )


def _uploaded(field) -> bytes:
    storage = field.data
    if storage is None or not hasattr(storage, "read"):
        return b""
    return storage.read(push_cert.MAX_UPLOAD + 1)


def _saved(message: str):
    """Commit, say what changed, and go back to the checklist (303 after a POST)."""
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("apple.setup_page"), 303)


@bp.get("/apple")
@role_required(Role.HELPDESK)
def setup_page():
    """The Apple setup checklist."""
    return _page()


@bp.post("/apple/abm")
@role_required(Role.ADMIN)
def link_abm():
    """Record the linked Apple Business Manager organization."""
    form = AbmForm()
    if not form.validate_on_submit():
        return _page(400, abm_form=form)
    try:
        setup.link_abm(
            _actor(), _org(), name=form.name.data, organization_id=form.organization_id.data
        )
    except setup.SetupError as exc:
        form.name.errors = [str(exc)]
        return _page(400, abm_form=form)
    return _saved(_("Apple Business Manager is linked."))


@bp.post("/apple/abm/unlink")
@role_required(Role.ADMIN)
def unlink_abm():
    """Forget the Apple Business Manager link."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    setup.unlink_abm(_actor(), _org())
    return _saved(_("Apple Business Manager is no longer linked."))


@bp.post("/apple/vpp-token")
@role_required(Role.ADMIN)
def upload_token():
    """Upload the Apps and Books location token."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(400, token_form=form)
    try:
        vpp_token.upload(
            _actor(),
            _org(),
            _uploaded(form.token_file),
            secret_key=current_app.config["SECRET_KEY"],
        )
    except vpp_token.LocationTokenError as exc:
        db.session.rollback()
        form.token_file.errors = [str(exc)]
        return _page(400, token_form=form)
    return _saved(_("The location token is saved."))


@bp.post("/apple/vpp-token/remove")
@role_required(Role.ADMIN)
def remove_token():
    """Forget the location token."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    vpp_token.remove(_actor(), _org())
    return _saved(_("The location token is removed."))


@bp.post("/apple/push/request")
@role_required(Role.ADMIN)
def download_request():
    """Download the certificate signing request to send to Apple."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    pem = push_cert.signing_request(
        _actor(),
        organization=_org().name,
        secret_key=current_app.config["SECRET_KEY"],
    )
    db.session.commit()
    response = make_response(pem)
    response.headers["Content-Type"] = "application/pkcs10"
    response.headers["Content-Disposition"] = 'attachment; filename="mdm-push-request.csr"'
    return response


@bp.post("/apple/push")
@role_required(Role.ADMIN)
def upload_certificate():
    """Upload the push certificate Apple made from the request."""
    form = CertificateForm()
    if not form.validate_on_submit():
        return _page(400, certificate_form=form)
    try:
        push_cert.upload(
            _actor(),
            _uploaded(form.certificate_file),
            form.password.data or None,
            secret_key=current_app.config["SECRET_KEY"],
        )
    except push_cert.PushCertificateError as exc:
        db.session.rollback()
        form.certificate_file.errors = [str(exc)]
        return _page(400, certificate_form=form)
    return _saved(_("The push certificate is saved: new profiles use its topic."))


@bp.get("/notifications")
@role_required(Role.ADMIN)
def notification_list():
    """What needs an admin, each with a link to where it is fixed."""
    return render(
        "apple/notifications.html",
        items=notifications.collect(),
        confirm_form=ConfirmForm(formdata=None),
    )


@bp.post("/notifications/<int:notification_id>/dismiss")
@role_required(Role.ADMIN)
def dismiss_notification(notification_id: int):
    """Mark a stored notification as dealt with."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if licences.dismiss(notification_id, actor=_actor()) is None:
        abort(404)
    db.session.commit()
    flash(_("The notification is dismissed."), "success")
    return redirect(url_for("apple.notification_list"), 303)


@bp.get("/notifications/bell")
@role_required(Role.ADMIN)
def notification_bell():
    """The header bell with its count (htmx refreshes it)."""
    return render("apple/_bell.html", "apple/_bell.html", bell_count=notifications.count())
