"""Template context and response headers shared by every page."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from .models import Role
from .privacy import mask_apple_id

# No inline scripts or styles: htmx is served from our own static files. form-action also
# lets the sign-in form's redirects end at the callback of a device's account-driven
# enrollment (/mdm/enroll/auth answers 308 to that scheme; browsers check form redirects).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self' apple-remotemanagement-user-login:; "
    "frame-ancestors 'none'"
)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


ROLE_LABELS = {
    Role.EMPLOYEE: _l("Employee"),
    Role.HELPDESK: _l("Helpdesk"),
    Role.ADMIN: _l("Administrator"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(Role(role), role))


def _context():
    return {"Role": Role, "current_locale": str(get_locale()), "role_label": role_label}


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.after_request(_security_headers)
    app.context_processor(_context)
    app.add_template_filter(mask_apple_id, "mask_apple_id")
