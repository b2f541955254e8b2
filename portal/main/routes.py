from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..access import public, role_required, safe_next
from ..extensions import db
from ..models import Role
from . import bp, health


@bp.get("/")
@role_required(Role.EMPLOYEE)
def home():
    """The signed-in person's start page."""
    return render_template("main/home.html")


@bp.post("/locale")
@public
def set_locale():
    """Switch the interface language (kept on the account when signed in)."""
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.home"))


@bp.get("/healthz")
@public
def healthz():
    """ok or degraded (200: the portal serves), down (503: it cannot), with details."""
    status, details = health.check()
    body = {"status": status, **details}
    return jsonify(body), 503 if status == health.DOWN else 200


@bp.get("/metrics")
@public
def metrics_page():
    """Prometheus metrics: from METRICS_ALLOW networks, with METRICS_TOKEN, or as an admin."""
    from .. import metrics

    if not metrics.request_allowed() and not (
        current_user.is_authenticated and current_user.has_role(Role.ADMIN)
    ):
        return (
            "Metrics are available from the networks in METRICS_ALLOW, with "
            "Authorization: Bearer <METRICS_TOKEN>, or to a signed-in admin.\n",
            403,
            {"Content-Type": "text/plain; charset=utf-8"},
        )
    return metrics.response()
