"""Apple MDM: enrollment profiles, account-driven enrollment, check-in and commands."""

from flask import Blueprint, Flask

bp = Blueprint("mdm", __name__)


def init_app(app: Flask) -> None:
    from ..extensions import csrf
    from . import push, routes  # noqa: F401  (registers the views on bp)

    push.init_app(app)
    # Devices cannot send CSRF tokens: they authenticate by bearer token or URL secret.
    csrf.exempt(bp)
    app.register_blueprint(bp)
