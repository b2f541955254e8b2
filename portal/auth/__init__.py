"""Sign-in and sign-out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Blueprint, Flask, current_app, g, request

from ..extensions import login_manager

bp = Blueprint("auth", __name__)


def loads_with_session(ask: Callable[[], tuple]) -> Callable:
    """Mark a view whose own query rides along with the session's: `ask()` gives a column
    expression over `User` and its parameters, read in the statement that loads the
    signed-in person; the view finds the value in `session_value()`.

    For the hottest signed-in path (the status poll): one round trip instead of two."""

    def mark(view: Callable) -> Callable:
        view.loads_with_session = ask
        return view

    return mark


def session_value(default: Callable[[], object]) -> object:
    """What the view's `loads_with_session` query read, else `default()`."""
    if "session_value" in g:
        return g.session_value
    return default()


def _load_user(token: str):
    from .service import load_session_with

    view = current_app.view_functions.get(request.endpoint or "") if request else None
    ask = getattr(view, "loads_with_session", None)
    also, params = ask() if ask is not None else (None, None)
    user, value = load_session_with(
        token,
        idle=timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]),
        maximum=timedelta(hours=current_app.config["SESSION_MAX_HOURS"]),
        also=also,
        params=params,
    )
    if user is not None:
        user.session_token = token
        if also is not None:
            g.session_value = value
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    # Access is enforced by portal.access; Flask-Login only loads the user. Its session
    # protection is off: sessions are server-side (revocable, with idle and maximum ages,
    # rotated at sign-in), nothing asks for a "fresh" login, and its "basic" mode only
    # rewrote the cookie of a visitor's first requests, so that a concurrent answer (the
    # favicon's 404) could undo a language switch made meanwhile.
    login_manager.session_protection = None
    oidc.init_app(app)
    from .cli import register

    register(app)


from . import oidc, oidc_views, routes  # noqa: E402,F401  (registers the views on bp)
