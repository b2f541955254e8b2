"""The company sign-in button's round trip: `/login/oidc` and its callback."""

from __future__ import annotations

import logging

from flask import abort, current_app, redirect, render_template, request, url_for

from ..access import public, safe_next
from ..extensions import db
from . import bp, identity, oidc
from .routes import _sign_in

log = logging.getLogger(__name__)


def _failure_page(status: int, title, message):
    return render_template("auth/oidc_error.html", title=title, message=message), status


@bp.get("/login/oidc")
@public
def oidc_start():
    """Send the browser to the company's OpenID provider (keeps `next` in the state)."""
    if not oidc.configured():
        abort(404)
    target = safe_next(request.args.get("next")) or ""
    redirect_uri = url_for("auth.oidc_callback", _external=True)
    try:
        url = oidc.start(redirect_uri, target)
    except oidc.OidcFailure as failure:
        log.warning("OIDC sign-in not started: %s", failure)
        return _failure_page(failure.status, failure.title, failure.message)
    return redirect(url)


@bp.get("/login/oidc/callback")
@public
def oidc_callback():
    """The provider's answer: verify it, find the account, open a new session."""
    if not oidc.configured():
        abort(404)
    try:
        pending = oidc.finish(request.args)
    except oidc.OidcFailure as failure:
        log.warning("OIDC sign-in refused: %s", failure)
        return _failure_page(failure.status, failure.title, failure.message)
    settings = identity.OidcSettings.from_config(current_app.config)
    try:
        user = identity.account_for(pending.claims, settings)
    except identity.NoAccount as refusal:
        db.session.rollback()
        log.info("OIDC sign-in without a usable account: %s", refusal)
        return _failure_page(403, refusal.title or oidc.NO_ACCOUNT_TITLE, refusal.message)
    target = safe_next(pending.next) or url_for("main.home")
    db.session.flush()
    _sign_in(user, "oidc")
    return redirect(target)
