"""Organization setup with Apple: push certificate, Apple Business Manager, Apps & Books."""

from flask import Blueprint

bp = Blueprint("apple", __name__, url_prefix="/admin")

from . import routes  # noqa: E402,F401
