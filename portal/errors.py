"""Friendly error pages (HTML, htmx fragment or JSON), never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db, login_manager
from .htmx import wants_fragment

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("Something in that request was not right"),
        _l("Check what you entered and try again."),
    ),
    401: (_l("Please sign in"), _l("You need to sign in to see this page.")),
    403: (
        _l("This page is not for your account"),
        _l("Your role does not include this. Ask your IT helpdesk if you think it should."),
    ),
    404: (_l("Page not found"), _l("The link may be old, or the page was removed.")),
    405: (_l("That action is not available here"), _l("Go back and use the page's buttons.")),
    409: (
        _l("That cannot be done right now"),
        _l("The request conflicts with the current state. Reload the page and try again."),
    ),
    413: (_l("That is too large"), _l("Send something smaller.")),
    429: (
        _l("Too many attempts"),
        _l("Please wait a few minutes before trying again."),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("Nothing you did caused this. Try again soon; if it persists, tell your IT helpdesk."),
    ),
    503: (
        _l("The portal is briefly unavailable"),
        _l("Its database does not answer. Nothing was changed; try again in a minute."),
    ),
}
# Machine-facing paths answer JSON.
JSON_PREFIXES = ("/healthz", "/scim/", "/.well-known/", "/api/", "/slack/")
# The database is unreachable (down, restarting, refusing connections, pool exhausted).
DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def _wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500 if code >= 500 else 400])
    if _wants_json():
        return jsonify(error=str(title), message=detail or str(message), status=code), code
    context = {"code": code, "title": title, "message": message, "detail": detail}
    if wants_fragment():
        response = render_template("errors/_alert.html", **context), code
        # htmx swaps error fragments into the page's alert region (see base.html).
        return response[0], code, {"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", **context), code


def _http_error(error: HTTPException):
    detail = error.description if getattr(error, "portal_detail", False) else None
    return render_error(error.code or 500, detail)


def _csrf_error(error: CSRFError):
    return render_error(
        400,
        str(_l("The form expired or was sent from another site. Reload the page and try again.")),
    )


def _server_error(error: Exception):
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(500)


def _database_down(error: Exception):
    """503 with Retry-After in the route's own form; the next request tries the database again."""
    try:
        db.session.rollback()
    except sa_exc.SQLAlchemyError:
        pass
    log.error(
        "database unavailable on %s %s: %s",
        request.method,
        request.path,
        type(getattr(error, "orig", None) or error).__name__,
    )
    # The page must not reach for the database again (to load the signed-in person).
    g._login_user = login_manager.anonymous_user()
    retry = str(current_app.config.get("DATABASE_RETRY_AFTER", 30))
    from .access import EXTERNAL, access_of

    external = request.endpoint and access_of(current_app, request.endpoint) == EXTERNAL
    if request.blueprint == "mdm" and external:
        response = Response(b"", 503, mimetype="text/plain")
    elif request.blueprint == "scim":
        from .scim.errors import error_response

        response = error_response(503, "The service is briefly unavailable; try again later.")
    else:
        response = current_app.make_response(render_error(503))
    response.headers["Retry-After"] = g.retry_after = retry
    return response


def route_database_down(app: Flask) -> None:
    """Let the 503 reach blueprints that catch every exception themselves (SCIM answers its
    own 500s): Flask asks a blueprint's handlers before the app's. Call once every blueprint
    is registered."""
    for name, by_code in app.error_handler_spec.items():
        handlers = by_code.get(None)
        if name is not None and handlers and Exception in handlers:
            for exception in DATABASE_DOWN:
                handlers.setdefault(exception, _database_down)


def init_app(app: Flask) -> None:
    for exception in DATABASE_DOWN:
        app.register_error_handler(exception, _database_down)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
