from flask import (
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from .. import branding
from ..access import public, role_required, safe_next
from ..devices import service as devices_service
from ..devices import views as device_views
from ..enrollment import journey
from ..extensions import db
from ..i18n import valid_time_zone
from ..models import Role
from . import attention, bp, health


@bp.get("/")
@role_required(Role.EMPLOYEE)
def home():
    """The signed-in person's start page: their devices and the one next thing to do; for the
    helpdesk and admins, also what needs them."""
    me = current_user._get_current_object()
    context = {
        "devices": [d for d in devices_service.devices_of(me) if not journey.is_unfinished(d)],
        "next_action": journey.next_action(me),
        "personal_request": journey.open_personal_request(me),
    }
    if me.has_role(Role.HELPDESK):
        context["attention"] = attention.for_staff(me)
    return render_template("main/home.html", **context, **device_views.LABELS)


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


@bp.post("/time-zone")
@role_required(Role.EMPLOYEE)
def set_time_zone():
    """Remember the browser's time zone on the account (dates in e-mails use it too)."""
    zone = valid_time_zone(request.form.get("time_zone"))
    if zone is None:
        return jsonify(error="unknown time zone"), 400
    if current_user.time_zone != zone:
        current_user.time_zone = zone
        db.session.commit()
    return "", 204


@bp.get("/favicon.ico")
@public
def favicon():
    """The portal's icon for browsers that ask for it on their own (pages name it too).

    Answered without touching the session: a 404 page here would render the layout, load
    the visitor and rewrite the session cookie from the request's older copy, racing a
    language switch made on the page meanwhile (the switch was lost)."""
    return current_app.send_static_file("img/favicon.svg")


@bp.get("/brand/logo")
@public
def logo():
    """The organization's logo, as an admin uploaded it."""
    org = branding.organization_or_none()
    if org is None or not org.logo:
        abort(404)
    response = make_response(org.logo)
    response.mimetype = org.logo_type or "image/png"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/brand/theme.css")
@public
def theme_css():
    """The accent colour as a style sheet (the pages allow no inline styles)."""
    accent = branding.organization_or_none()
    colour = accent.accent_color if accent is not None and accent.accent_color else None
    body = f":root {{ --accent: {colour}; }}\n" if colour else ""
    response = make_response(body)
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


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
