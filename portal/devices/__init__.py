"""The employee's devices: what the company can see and do, actions by Apple's rules, logs."""

from flask import Blueprint

from .model_names import display_name

bp = Blueprint("devices", __name__, url_prefix="/devices")
# "iPhone16,1" → "iPhone 15 Pro", on the employee's and the admin's pages.
bp.add_app_template_filter(display_name, "model_name")

from . import routes  # noqa: E402,F401
