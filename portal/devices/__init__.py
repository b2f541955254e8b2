"""The employee's devices: what the company can see and do, actions by Apple's rules, logs."""

from flask import Blueprint

bp = Blueprint("devices", __name__, url_prefix="/devices")

from . import routes  # noqa: E402,F401
