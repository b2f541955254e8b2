"""SCIM 2.0 provisioning endpoint (`/scim/v2`) for Entra ID."""

from flask import Blueprint, Flask

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")


def init_app(app: Flask) -> None:
    from ..extensions import csrf

    # Entra authenticates with a bearer token, not a browser session: no CSRF here.
    csrf.exempt(bp)
    app.register_blueprint(bp)


from . import routes  # noqa: E402,F401
