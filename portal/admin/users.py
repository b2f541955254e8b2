"""Users: list and search, detail with the decision preview, adding a local account.

Helpdesk reads everything here; only admins change anything. Managed Apple IDs are shown
masked (the `mask_apple_id` filter) on every page and fragment.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..access import role_required
from ..apps import licences
from ..directory import service as directory
from ..enrollment import service as enrollment
from ..extensions import db
from ..htmx import render
from ..invitations import routes as invitation_routes
from ..models import (
    Device,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    Organization,
    Platform,
    Role,
    User,
    UserSource,
)
from . import bp
from .user_forms import DEFAULT_PREVIEW, NewUserForm, PreviewForm

PAGE_SIZE = 25
MAX_QUERY = 200

TYPE_LABELS = {
    EnrollmentType.USER: _l("User Enrollment"),
    EnrollmentType.DEVICE: _l("Device Enrollment"),
    EnrollmentType.MAM: _l("App management only"),
}
METHOD_LABELS = {
    EnrollmentMethod.ACCOUNT_DRIVEN: _l("account-driven"),
    EnrollmentMethod.PROFILE: _l("profile-based"),
    EnrollmentMethod.ADE: _l("automated (ADE)"),
    EnrollmentMethod.CONFIGURATOR: _l("Apple Configurator"),
    EnrollmentMethod.NONE: _l("no profile"),
}
PLATFORM_LABELS = {Platform.IOS: "iOS", Platform.IPADOS: "iPadOS", Platform.MACOS: "macOS"}
STATUS_LABELS = {
    DeviceStatus.INVITED: _l("Invited"),
    DeviceStatus.PROFILE_DOWNLOADED: _l("Profile downloaded"),
    DeviceStatus.AUTHENTICATED: _l("Authenticated"),
    DeviceStatus.ENROLLED: _l("Enrolled"),
    DeviceStatus.UNENROLLED: _l("Unenrolled"),
    DeviceStatus.EXPIRED: _l("Never finished (expired)"),
}
SOURCE_LABELS = {
    UserSource.LOCAL: _l("Local account"),
    UserSource.LDAP: _l("LDAP directory"),
    UserSource.ENTRA: _l("Entra ID"),
}


def _actor() -> User:
    return current_user._get_current_object()


def _labels() -> dict:
    return {
        "type_labels": TYPE_LABELS,
        "method_labels": METHOD_LABELS,
        "source_labels": SOURCE_LABELS,
        "platform_labels": PLATFORM_LABELS,
        "status_labels": STATUS_LABELS,
    }


@bp.get("/users")
@role_required(Role.HELPDESK)
def users():
    """All accounts, searchable by name or e-mail, paged; htmx searches swap only the rows."""
    q = (request.args.get("q") or "").strip()[:MAX_QUERY]
    conflicts = request.args.get("filter") == "conflicts"
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = directory.user_search(q, conflicts_only=conflicts)
    pagination = db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)
    invitation_routes.prefetch(pagination.items)
    conflict_count = db.session.scalar(
        sa.select(sa.func.count(User.id)).where(User.managed_apple_id_conflict.is_not(None))
    )
    return render(
        "admin/user_list.html",
        "admin/_user_rows.html",
        pagination=pagination,
        q=q,
        conflicts=conflicts,
        conflict_count=conflict_count,
        **_labels(),
    )


def _get_user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


def _detail_context(user: User, args: MultiDict) -> tuple[dict, int]:
    """Everything the detail page and its preview fragment show; and the status code."""
    form = PreviewForm(args if args else MultiDict(DEFAULT_PREVIEW))
    decision, status, setting = None, 200, None
    reenroll_decisions: list = []
    if form.validate():
        try:
            found = enrollment.preview(
                user,
                platform=form.platform.data,
                os_version=form.os_version.data,
                supervised=form.supervised.data,
                channel=form.channel.data,
            )
            decision, reenroll_decisions = found.new_device, found.reenrolling
            setting = found.setting
        except enrollment.EnrollmentInputError as exc:
            getattr(form, exc.field or "os_version").errors.append(str(exc))
    if decision is None:
        status = 400
    holder = None
    if user.managed_apple_id_conflict:
        holder = db.session.scalar(
            sa.select(User).where(User.managed_apple_id == user.managed_apple_id_conflict)
        )
    devices = db.session.scalars(
        sa.select(Device).where(Device.user_id == user.id).order_by(Device.created_at.desc())
    ).all()
    context = {
        "user": user,
        "setting": setting or enrollment.effective_setting(user),
        "form": form,
        "decision": decision,
        "reenroll_decisions": reenroll_decisions,
        "holder": holder,
        "devices": devices,
        "licences": licences.usage_of(user),
        **_labels(),
    }
    return context, status


@bp.get("/users/<int:user_id>")
@role_required(Role.HELPDESK)
def user_detail(user_id: int):
    """One account: groups, effective setting, Managed Apple ID (masked), decision preview."""
    user = _get_user(user_id)
    context, status = _detail_context(user, request.args)
    return render("admin/user_detail.html", status=status, **context)


@bp.get("/users/<int:user_id>/decision")
@role_required(Role.HELPDESK)
def user_decision(user_id: int):
    """The decision for a chosen device: the `#decision-preview` fragment (or the page)."""
    user = _get_user(user_id)
    context, status = _detail_context(user, request.args)
    return render(
        "admin/user_detail.html", "admin/_decision_preview.html", status=status, **context
    )


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def user_new():
    """Add a local account; its Managed Apple ID is derived by the organization's scheme."""
    form = NewUserForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("admin/user_form.html", form=form), status
    try:
        user = directory.create_user(
            _actor(),
            org=directory.organization(),
            email=form.email.data,
            display_name=form.display_name.data,
            role=form.role.data,
            source=UserSource.LOCAL,
            password=form.password.data or None,
        )
    except directory.DirectoryError as exc:
        db.session.rollback()
        field = getattr(form, exc.field, None) if exc.field else None
        if field is not None:
            field.errors.append(str(exc))
        else:
            form.form_errors.append(str(exc))
        status = 409 if isinstance(exc, directory.DuplicateEmail | directory.DuplicateUpn) else 400
        return render_template("admin/user_form.html", form=form), status
    db.session.commit()
    flash(_("%(name)s was added.", name=user.display_name), "success")
    if user.managed_apple_id_conflict:
        flash(_conflict_message(), "warning")
    return redirect(url_for("admin.user_detail", user_id=user.id), 303)


def _conflict_message() -> str:
    return _(
        "Another account already holds the Managed Apple ID this account should have; the "
        "account keeps no Managed Apple ID until that is resolved."
    )


@bp.post("/users/<int:user_id>/managed-apple-id")
@role_required(Role.ADMIN)
def user_apple_id(user_id: int):
    """Derive the Managed Apple ID again (after a conflict was resolved elsewhere)."""
    user = _get_user(user_id)
    org = db.get_or_404(Organization, user.org_id)
    if directory.apply_managed_apple_id(user, org, actor=_actor()):
        flash(_("The Managed Apple ID is set."), "success")
    elif user.managed_apple_id_conflict:
        flash(_conflict_message(), "warning")
    else:
        flash(_("No Managed Apple ID can be derived for this account."), "warning")
    db.session.commit()
    return redirect(url_for("admin.user_detail", user_id=user.id), 303)
