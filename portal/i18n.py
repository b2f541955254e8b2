"""Language choice: the user's own, else the session's, else the browser's."""

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


def select_timezone() -> str:
    return "UTC"
