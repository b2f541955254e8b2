"""Configuration read from the environment.

Lookup order: built-in defaults, then environment variables (a `.env` file in the working
directory is loaded by the Flask CLI), then the `overrides` mapping given to `create_app`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "testing", "production")


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says which variable to set."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def database_url(raw: str, base: Path) -> str:
    """Resolve a relative SQLite path against `base` (the repository root)."""
    url = make_url(raw)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database)
        if not path.is_absolute():
            path = base / path
            path.parent.mkdir(parents=True, exist_ok=True)
            url = url.set(database=str(path))
    return url.render_as_string(hide_password=False)


def _secret_key(env: str, instance: Path) -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if env == "production":
        raise ConfigError("SECRET_KEY must be set when PORTAL_ENV=production")
    # Development keeps one generated key so sessions survive restarts.
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load(overrides: dict | None = None) -> dict:
    """Build the configuration mapping for one app."""
    overrides = dict(overrides or {})
    env = overrides.get("PORTAL_ENV") or os.environ.get("PORTAL_ENV") or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    instance = Path(
        overrides.get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH") or ROOT / "instance"
    )
    production = env == "production"

    config: dict = {
        "PORTAL_ENV": env,
        "INSTANCE_PATH": str(instance),
        "TESTING": env == "testing",
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or "sqlite:///instance/portal.db",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Sessions: never named `_session` (an OpenID provider on the same host uses it).
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", 30),
        "SESSION_MAX_HOURS": _int("SESSION_MAX_HOURS", 12),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Rate limits on failed sign-ins: per account, and far higher per client address.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_ACCOUNT_LIMIT": os.environ.get("LOGIN_ACCOUNT_LIMIT", "5 per 5 minutes"),
        "LOGIN_ADDRESS_LIMIT": os.environ.get("LOGIN_ADDRESS_LIMIT", "100 per 5 minutes"),
        # Behind a load balancer, trust this many proxies for the client address.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "portal" / "translations"),
        "LANGUAGES": ("en", "fr"),
        "ARGON2_TIME_COST": _int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _int("ARGON2_MEMORY_COST", 65536),
        "ORG_NAME": os.environ.get("ORG_NAME", "Example Corp"),
    }
    config.update(overrides)
    config["SECRET_KEY"] = overrides.get("SECRET_KEY") or _secret_key(env, instance)
    config["SQLALCHEMY_DATABASE_URI"] = database_url(config["SQLALCHEMY_DATABASE_URI"], ROOT)
    backend = make_url(config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    if backend == "postgresql":
        # A health check must answer, not hang, when the database is unreachable.
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.setdefault("connect_args", {"connect_timeout": 3})
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    return config
