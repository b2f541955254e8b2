"""Admin: the sign-in sources (OIDC, LDAP, SCIM token) and the Managed Apple ID scheme."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import role_required
from ..auth import oidc
from ..auth.identity import OidcSettings
from ..directory import apple_id, org_settings
from ..directory import service as directory_service
from ..directory.ldap import LdapError, LdapSettings, check_connection
from ..extensions import db
from ..htmx import render
from ..models import AppleIdScheme, Role
from ..scim import tokens
from . import bp
from .sign_in_forms import ActionForm, IdentitySettingsForm

PAGE = "admin/sign_in.html"


def _org():
    try:
        return directory_service.organization()
    except directory_service.NoOrganization:
        return None


def _context(**extra) -> dict:
    config = current_app.config
    org = _org()
    form = extra.pop("form", None) or IdentitySettingsForm(obj=org, formdata=None)
    if org is not None and form.apple_id_scheme.data is None:
        form.apple_id_scheme.data = org.apple_id_scheme.value
    base = config["PUBLIC_BASE_URL"].rstrip("/")
    return {
        "org": org,
        "form": form,
        "action_form": ActionForm(),
        "oidc": {
            "configured": oidc.configured(),
            "issuer": config.get("OIDC_ISSUER"),
            "client_id": config.get("OIDC_CLIENT_ID"),
            "scopes": config.get("OIDC_SCOPES"),
            "settings": OidcSettings.from_config(config),
            "redirect_uri": base + url_for("auth.oidc_callback"),
        },
        "ldap": LdapSettings.from_config(config),
        "scim_url": base + "/scim/v2",
        "scim_token": tokens.current(),
        "preview": _preview(form),
        **extra,
    }


def _preview(form: IdentitySettingsForm) -> dict:
    try:
        scheme = AppleIdScheme(form.apple_id_scheme.data or AppleIdScheme.EMAIL.value)
    except ValueError:
        scheme = AppleIdScheme.EMAIL
    try:
        value = org_settings.preview(
            scheme=scheme,
            subdomain=bool(form.apple_id_subdomain.data),
            email=(form.sample_email.data or "").strip(),
            upn=(form.sample_upn.data or "").strip(),
        )
        return {"value": value, "error": None}
    except apple_id.AppleIdError:
        return {"value": None, "error": scheme}


@bp.get("/sign-in")
@role_required(Role.ADMIN)
def sign_in_sources():
    """OIDC, LDAP and SCIM status, the SCIM token, the Managed Apple ID scheme."""
    return render(PAGE, **_context())


@bp.get("/sign-in/apple-id-preview")
@role_required(Role.ADMIN)
def apple_id_preview():
    """The Managed Apple ID the chosen scheme gives the sample person (live, htmx)."""
    form = IdentitySettingsForm(formdata=request.args, meta={"csrf": False})
    return render(PAGE, "admin/_apple_id_preview.html", **_context(form=form))


@bp.post("/sign-in/identity")
@role_required(Role.ADMIN)
def save_identity_settings():
    """Save the scheme and the invite toggle; a new scheme re-derives everyone's ID."""
    form = IdentitySettingsForm()
    org = _org()
    if org is None or not form.validate_on_submit():
        return render(PAGE, **_context(form=form)), 400
    result = org_settings.update(
        current_user._get_current_object(),
        org,
        scheme=AppleIdScheme(form.apple_id_scheme.data),
        subdomain=form.apple_id_subdomain.data,
        invite_imported_users=form.invite_imported_users.data,
    )
    db.session.commit()
    message = _("Settings saved.")
    if result["changed"] or result["conflicts"]:
        message += " " + _(
            "%(changed)s Managed Apple IDs changed; %(conflicts)s conflicts to resolve.",
            changed=result["changed"],
            conflicts=result["conflicts"],
        )
    flash(message, "success")
    return redirect(url_for("admin.sign_in_sources"))


@bp.post("/sign-in/oidc-check")
@role_required(Role.ADMIN)
def oidc_check():
    """Fetch the issuer's discovery document now (never on page load)."""
    issuer = current_app.config.get("OIDC_ISSUER")
    result, error, status = None, None, 200
    if not issuer:
        error, status = _("OpenID Connect is not configured (OIDC_ISSUER)."), 409
    else:
        try:
            result = oidc.check_metadata(issuer, timeout=current_app.config.get("OIDC_TIMEOUT", 10))
        except oidc.MetadataProblem as problem:
            error, status = _("The provider's metadata cannot be used: %(why)s", why=problem), 502
    return render(
        PAGE,
        "admin/_oidc_check.html",
        status=status,
        **_context(oidc_result=result, oidc_error=error),
    )


@bp.post("/sign-in/ldap-test")
@role_required(Role.ADMIN)
def ldap_test():
    """Bind with the service account and count people in the filter."""
    settings = LdapSettings.from_config(current_app.config)
    count, error, status = None, None, 200
    if settings is None:
        error, status = _("LDAP is not configured (LDAP_URL)."), 409
    else:
        try:
            count = check_connection(settings)
        except LdapError as exc:
            error, status = _("The directory cannot be used: %(why)s", why=exc), 502
    return render(
        PAGE, "admin/_ldap_test.html", status=status, **_context(ldap_count=count, ldap_error=error)
    )


@bp.post("/sign-in/scim-token")
@role_required(Role.ADMIN)
def scim_token():
    """Create, rotate or revoke the SCIM bearer token; a new one is shown once."""
    form = ActionForm()
    if not form.validate_on_submit() or form.action.data not in ("create", "rotate", "revoke"):
        return render(PAGE, "admin/_scim_token.html", status=400, **_context())
    actor = current_user._get_current_object()
    new_token = None
    if form.action.data == "revoke":
        tokens.revoke(actor)
    else:
        _row, new_token = tokens.issue(actor, days=current_app.config.get("SCIM_TOKEN_DAYS", 365))
    db.session.commit()
    response = render(PAGE, "admin/_scim_token.html", **_context(new_token=new_token))
    response.headers["Cache-Control"] = "no-store"
    return response
