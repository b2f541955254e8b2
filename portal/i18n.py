"""Language choice: the user's own, else the session's, else the browser's."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def supported(locale: str | None) -> bool:
    return locale in current_app.config["LANGUAGES"]


def select_locale() -> str:
    if not has_request_context():
        # CLI commands and workers choose with `force_locale`; otherwise the default.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and supported(current_user.locale):
        return current_user.locale
    if supported(session.get("locale")):
        return session["locale"]
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "en"


TIME_ZONE_COOKIE = "portal_tz"


def valid_time_zone(name: object) -> str | None:
    """`name` when it is a known IANA time zone, else None."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def select_timezone() -> str:
    """The browser's time zone (a cookie its script sets), else the one remembered on the
    account, else UTC."""
    if not has_request_context():
        return "UTC"
    zone = valid_time_zone(request.cookies.get(TIME_ZONE_COOKIE))
    if zone is None and current_user and current_user.is_authenticated:
        zone = valid_time_zone(current_user.time_zone)
    return zone or "UTC"
