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
    """200 when the database answers, 503 when it does not."""
    healthy, details = health.check()
    body = {"status": "ok" if healthy else "unavailable", **details}
    if healthy and not details["rate_limit_storage"]["ok"]:
        body["status"] = "degraded"  # limits fall back to each process's memory
    return jsonify(body), 200 if healthy else 503
