"""Sign-in and sign-out."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, current_app

from ..extensions import login_manager

bp = Blueprint("auth", __name__)


def _load_user(token: str):
    from .service import load_session

    user = load_session(
        token,
        idle=timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]),
        maximum=timedelta(hours=current_app.config["SESSION_MAX_HOURS"]),
    )
    if user is not None:
        user.session_token = token
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    # Access is enforced by portal.access; Flask-Login only loads the user.
    login_manager.session_protection = "basic"
    oidc.init_app(app)
    from .cli import register

    register(app)


from . import oidc, oidc_views, routes  # noqa: E402,F401  (registers the views on bp)
