"""Flask extensions, created unbound and bound in `create_app`."""

from flask import request
from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from .models.base import Base


def client_address() -> str:
    """The client's address (ProxyFix has already applied trusted proxy headers)."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()
limiter = Limiter(key_func=client_address, default_limits=[])
