"""Sign-in page, sign-in form and sign-out."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import audit
from ..access import public, safe_next
from ..directory.ldap import LdapSettings
from ..extensions import db, limiter
from ..i18n import TIME_ZONE_COOKIE, valid_time_zone
from . import bp
from .forms import LoginForm
from .service import InvalidCredentials, authenticate, end_session, start_session


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:320]


def _failed(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_LIMIT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="login-account",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_ADDRESS_LIMIT"],
    methods=["POST"],
    deduct_when=_failed,
    scope="login-address",
)
def login():
    """Show the sign-in form; sign in with a local account."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if current_user.is_authenticated:
            return redirect(safe_next(form.next.data) or url_for("main.home"))
        return _login_page(form)
    if not form.validate_on_submit():
        return _login_page(form), 400
    try:
        user, method = authenticate(
            form.email.data,
            form.password.data,
            ldap=LdapSettings.from_config(current_app.config),
        )
    except InvalidCredentials:
        # One message for unknown account and wrong password: no enumeration.
        form.password.errors.append(_("That e-mail and password do not match an account."))
        return _login_page(form), 401
    target = safe_next(form.next.data) or url_for("main.home")
    _sign_in(user, method)
    return redirect(target)


def _login_page(form: LoginForm) -> str:
    from . import oidc

    return render_template("auth/login.html", form=form, oidc_label=oidc.button_label())


def _sign_in(user, method: str) -> None:
    """Rotate the session: drop everything from before sign-in, open a new server session."""
    locale = session.get("locale")
    end_session(getattr(current_user, "session_token", None))
    session.clear()
    if locale:
        session["locale"] = locale
    user.session_token = start_session(user, method)
    # The browser's time zone (its script set the cookie on the sign-in page), kept for dates.
    zone = valid_time_zone(request.cookies.get(TIME_ZONE_COOKIE))
    if zone:
        user.time_zone = zone
    login_user(user)
    audit.record(user, "auth.sign_in", target=user, after={"method": method})
    db.session.commit()


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """Sign out (POST only, CSRF-checked) and end the server-side session."""
    if current_user.is_authenticated:
        end_session(getattr(current_user, "session_token", None))
        logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You are signed out."), "info")
    # A device's enrollment sign-in switches accounts and comes back to where it was.
    target = safe_next(request.form.get("next"))
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))
