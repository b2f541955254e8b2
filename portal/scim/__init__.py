"""SCIM 2.0 provisioning endpoint (`/scim/v2`) for Entra ID."""

import hashlib

from flask import Blueprint, Flask, current_app, request

from ..extensions import limiter

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")


def _token_key() -> str:
    """Requests are counted per bearer token (its digest), so one client cannot starve
    another, and a token is not limited by the address it comes from."""
    header = request.headers.get("Authorization", "")
    return "scim:" + hashlib.sha256(header.encode("utf-8", "replace")).hexdigest()


# Once per process: the limiter is shared by every app the factory makes.
limiter.limit(
    lambda: current_app.config["SCIM_RATE_LIMIT"], key_func=_token_key, scope="scim-token"
)(bp)


def init_app(app: Flask) -> None:
    from ..extensions import csrf

    # Entra authenticates with a bearer token, not a browser session: no CSRF here.
    csrf.exempt(bp)
    app.register_blueprint(bp)


from . import routes  # noqa: E402,F401
