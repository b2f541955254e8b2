"""Template context and response headers shared by every page."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from . import audit_words, navigation
from . import branding as branding_service
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


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def _security_headers(response):
    """Each header unless the view set its own (one pass over the response's headers)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    wanted = SECURITY_HEADERS + (HSTS,) if request.is_secure else SECURITY_HEADERS
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response


ROLE_LABELS = {
    Role.EMPLOYEE: _l("Employee"),
    Role.HELPDESK: _l("Helpdesk"),
    Role.ADMIN: _l("Administrator"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(Role(role), role))


def current_branding() -> branding_service.Branding:
    """The organization's branding and support contact in the page's language (once a request)."""
    locale = str(get_locale())
    cached = g.get("_branding")
    if cached is None or cached[0] != locale:
        try:
            org = branding_service.organization_or_none()
        except Exception:  # an error page while the database is down still renders
            org = None
        value = branding_service.for_locale(org, locale, current_app.config.get("ORG_NAME", ""))
        g._branding = cached = (locale, value)
    return cached[1]


def slack_enabled() -> bool:
    config = current_app.config
    return bool(config.get("SLACK_BOT_TOKEN") and config.get("SLACK_SIGNING_SECRET"))


def _os_key(device) -> str:
    from .enrollment import guide

    try:
        version = tuple(int(p) for p in (device.os_version or "").split(".") if p)
    except ValueError:
        version = ()
    if not version:
        return ""
    return guide.range_key(device.platform, version)


def _context():
    from .devices.views import command_label
    from .enrollment.guide import DEVICE_NAMES

    brand = current_branding()
    return {
        "Role": Role,
        "current_locale": str(get_locale()),
        "role_label": role_label,
        "branding": brand,
        "support": brand.support,
        "slack_enabled": slack_enabled(),
        "device_names": {str(k): v for k, v in DEVICE_NAMES.items()},
        "os_key": _os_key,
        "admin_navigation": navigation.admin_groups,
        "command_label": command_label,
    }


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.after_request(_security_headers)
    app.context_processor(_context)
    app.add_template_filter(mask_apple_id, "mask_apple_id")
    app.add_template_filter(audit_words.log_action_label, "log_action")
    app.add_template_filter(audit_words.log_status_label, "log_status")
