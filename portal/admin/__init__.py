"""Admin and helpdesk pages."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import (  # noqa: E402,F401
    branding_page,
    devices,
    groups,
    jobs,
    ldap_pages,
    routes,
    settings,
    sign_in,
    users,
)
