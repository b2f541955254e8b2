"""Branding and support contact (admin): name, logo, accent colour, texts per language."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import branding
from ..access import role_required
from ..directory.service import NoOrganization, organization
from ..extensions import db
from ..models import Role
from . import bp

LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
FIELDS = branding.CONTACT_FIELDS


def _values(org) -> dict:
    form = request.form
    languages = current_app.config["LANGUAGES"]
    if request.method == "POST":
        return {
            "name": form.get("name", ""),
            "accent_color": form.get("accent_color", ""),
            "welcome": {lang: form.get(f"welcome_{lang}", "") for lang in languages},
            "support": {
                lang: {key: form.get(f"support_{key}_{lang}", "") for key in FIELDS}
                for lang in languages
            },
        }
    return {
        "name": org.name,
        "accent_color": org.accent_color or "",
        "welcome": {lang: (org.welcome_message or {}).get(lang, "") for lang in languages},
        "support": {
            lang: {
                key: ((org.support_contact or {}).get(lang) or {}).get(key, "")
                for key in branding.CONTACT_FIELDS
            }
            for lang in languages
        },
    }


@bp.route("/branding", methods=["GET", "POST"], endpoint="branding")
@role_required(Role.ADMIN)
def branding_settings():
    """The organization's name, logo, colour, welcome message and support contact."""
    try:
        org = organization()
    except NoOrganization:
        return redirect(url_for("apple.setup_page"))
    values = _values(org)
    error = None
    if request.method == "POST":
        upload = request.files.get("logo")
        logo = None
        if upload is not None and upload.filename:
            logo = (upload.read(branding.MAX_LOGO_BYTES + 1), upload.mimetype or "")
        try:
            branding.update(
                current_user._get_current_object(),
                org,
                name=values["name"],
                accent_color=values["accent_color"],
                welcome=values["welcome"],
                support=values["support"],
                logo=logo,
                remove_logo=request.form.get("remove_logo") == "1",
            )
        except branding.BrandingError as exc:
            db.session.rollback()
            error = exc
        else:
            db.session.commit()
            flash(_("Branding and support contact saved."), "success")
            return redirect(url_for("admin.branding"), 303)
    status = 400 if error else 200
    return render_template(
        "admin/branding.html",
        values=values,
        error=error,
        has_logo=bool(org.logo),
        languages=current_app.config["LANGUAGES"],
        language_names=LANGUAGE_NAMES,
    ), status
