"""Admin: "Invite users from LDAP" — search people, groups or OUs, import in one go."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from ..access import role_required
from ..directory import ldap_import
from ..directory import service as directory_service
from ..directory.ldap import Directory, LdapError, LdapSettings
from ..htmx import render
from ..models import Role
from . import bp
from .sign_in_forms import LdapImportForm, LdapSearchForm

PAGE = "admin/ldap.html"
MAX_SELECTED = 500


def _search(settings: LdapSettings, form: LdapSearchForm) -> dict:
    text = (form.q.data or "").strip()
    with Directory(settings) as directory:
        if form.kind.data == "groups":
            groups = directory.search_groups(text)
            return {"groups": groups}
        if form.kind.data == "ous":
            units = directory.search_ous(text)
            return {
                "ous": [(ou, directory.search_people("", base=ou.dn)) for ou in units[:10]],
            }
        return {"people": directory.search_people(text)}


@bp.get("/ldap")
@role_required(Role.ADMIN)
def ldap_search():
    """Search the directory (htmx swaps the results); choose people, groups or OUs."""
    settings = LdapSettings.from_config(current_app.config)
    form = LdapSearchForm(request.args)
    context = {"form": form, "settings": settings, "import_form": LdapImportForm(), "results": None}
    status = 200
    searched = "q" in request.args or "kind" in request.args
    if settings is not None and searched:
        if not form.validate():
            status = 400
        else:
            try:
                context["results"] = _search(settings, form)
            except LdapError as exc:
                context["error"] = _("The directory cannot be searched: %(why)s", why=exc)
                status = 502
    return render(PAGE, "admin/_ldap_results.html", status=status, **context)


@bp.post("/ldap/import")
@role_required(Role.ADMIN)
def ldap_import_selected():
    """Import the chosen people and whole groups/OUs in one transaction, then report."""
    settings = LdapSettings.from_config(current_app.config)
    form = LdapImportForm()
    context = {
        "form": LdapSearchForm(formdata=None),
        "settings": settings,
        "import_form": form,
        "results": None,
    }
    chosen = {
        name: [v for v in request.form.getlist(name) if v and len(v) <= 500]
        for name in ("user_dn", "group_dn", "ou_dn")
    }
    total = sum(len(v) for v in chosen.values())
    if settings is None:
        context["error"] = _("LDAP is not configured (LDAP_URL).")
        return render(PAGE, "admin/_ldap_results.html", status=409, **context)
    if not form.validate_on_submit() or total == 0 or total > MAX_SELECTED:
        context["error"] = _(
            "Choose between 1 and %(max)s people, groups or units.", max=MAX_SELECTED
        )
        return render(PAGE, "admin/_ldap_results.html", status=400, **context)
    try:
        report = ldap_import.import_selection(
            settings,
            actor=current_user._get_current_object(),
            user_dns=chosen["user_dn"],
            group_dns=chosen["group_dn"],
            ou_dns=chosen["ou_dn"],
        )
    except (LdapError, directory_service.DirectoryError) as exc:
        context["error"] = _(
            "Nothing was imported: the directory cannot be used (%(why)s). Try again later.",
            why=exc,
        )
        return render(PAGE, "admin/_ldap_results.html", status=502, **context)
    context["report"] = report
    return render(PAGE, "admin/_ldap_results.html", **context)
