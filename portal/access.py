"""Who may call each route: declared on every view, enforced in one place.

Deny by default: a view without a declaration answers 403, so a new route that forgets
to say who may call it is closed, and `tests/test_access.py` names it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from .extensions import htmx
from .models import Role

PUBLIC = "public"
# Endpoints that authenticate otherwise (device bearer tokens, signatures, SCIM tokens).
EXTERNAL = "external"
Access = Role | Literal["public", "external"]

# Flask's own endpoints that cannot carry an attribute.
_BUILTIN = {"static": PUBLIC}


def _declare(access: Access) -> Callable:
    def decorator(view: Callable) -> Callable:
        view.access = access
        return view

    return decorator


def public(view: Callable) -> Callable:
    """Anyone, signed in or not."""
    return _declare(PUBLIC)(view)


def external(view: Callable) -> Callable:
    """A machine-facing endpoint that authenticates its caller itself."""
    return _declare(EXTERNAL)(view)


def role_required(role: Role) -> Callable:
    """Signed-in users holding `role` or a role above it."""
    return _declare(role)


def access_of(app: Flask, endpoint: str) -> Access | None:
    if endpoint in _BUILTIN:
        return _BUILTIN[endpoint]
    view = app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a same-origin relative path, else None (no open redirects)."""
    if not target or not isinstance(target, str):
        return None
    if any(c in target for c in "\\\r\n\t") or not target.startswith("/"):
        return None
    if target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _enforce():
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route: the 404/405 handlers answer
    access = access_of(current_app, endpoint)
    if access in (PUBLIC, EXTERNAL):
        return None
    if access is None:
        current_app.logger.error("route %s declares no access rule: refused", endpoint)
        abort(403)
    if not current_user.is_authenticated:
        target = request.full_path if request.method == "GET" else None
        login = url_for("auth.login", next=safe_next(target.rstrip("?")) if target else None)
        if htmx:
            # A fragment request cannot follow a redirect into a page: send the browser.
            response = current_app.response_class(status=401)
            response.headers["HX-Redirect"] = login
            return response
        return redirect(login)
    if not current_user.has_role(access):
        abort(403)
    return None


def init_app(app: Flask) -> None:
    app.before_request(_enforce)
