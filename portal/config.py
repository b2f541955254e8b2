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
PUSH_MODES = ("apns", "log")


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
        # No X-RateLimit-* headers: each would cost two more storage calls per request (429
        # answers still carry Retry-After, see portal.performance).
        "RATELIMIT_HEADERS_ENABLED": False,
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
        # Apple MDM. The push topic (UID of the APNs MDM certificate) is required in
        # production; development makes one up under instance/. Empty CA / signing paths:
        # a CA and a signing certificate are created under instance/pki/.
        "MDM_PUSH_TOPIC": os.environ.get("MDM_PUSH_TOPIC", "").strip(),
        "MDM_USE_DEVELOPMENT_APNS": _bool(os.environ.get("MDM_USE_DEVELOPMENT_APNS")),
        "MDM_CA_CERT": os.environ.get("MDM_CA_CERT", ""),
        "MDM_CA_KEY": os.environ.get("MDM_CA_KEY", ""),
        "PROFILE_SIGNING_CERT": os.environ.get("PROFILE_SIGNING_CERT", ""),
        "PROFILE_SIGNING_KEY": os.environ.get("PROFILE_SIGNING_KEY", ""),
        # Reverse-DNS prefix of profile identifiers (default: from PUBLIC_BASE_URL's host).
        "MDM_PROFILE_IDENTIFIER": os.environ.get("MDM_PROFILE_IDENTIFIER", "").strip(),
        # Account-driven enrollment: the sign-in token must fetch the profile within this
        # time; bound to a device, it lapses after this many days without a check-in.
        "MDM_ENROLL_TOKEN_MINUTES": _int("MDM_ENROLL_TOKEN_MINUTES", 15),
        "MDM_ACCESS_TOKEN_DAYS": _int("MDM_ACCESS_TOKEN_DAYS", 180),
        # Device endpoints: requests per client address; one audit row per repeated refusal
        # and window; unanswered commands resent after this long, given up after N sends.
        "MDM_RATE_LIMIT": os.environ.get("MDM_RATE_LIMIT", "600 per minute"),
        "MDM_REFUSAL_AUDIT_SECONDS": _int("MDM_REFUSAL_AUDIT_SECONDS", 60),
        "MDM_COMMAND_RESEND_SECONDS": _int("MDM_COMMAND_RESEND_SECONDS", 300),
        "MDM_COMMAND_MAX_ATTEMPTS": _int("MDM_COMMAND_MAX_ATTEMPTS", 3),
        # Pushes waking devices: `apns` sends them with the uploaded push certificate, `log`
        # only logs them. Default: apns in production, log otherwise. APNS_CA_FILE: a CA
        # bundle to check APNS_URL's certificate with (default: the system's).
        "MDM_PUSH": os.environ.get("MDM_PUSH", "").strip().lower(),
        "APNS_URL": os.environ.get("APNS_URL", "https://api.push.apple.com").strip().rstrip("/"),
        "APNS_CA_FILE": os.environ.get("APNS_CA_FILE", "").strip(),
        "APNS_TIMEOUT": _int("APNS_TIMEOUT", 10),
        # OpenID Connect sign-in (Entra ID: https://login.microsoftonline.com/<tenant>/v2.0).
        "OIDC_ISSUER": os.environ.get("OIDC_ISSUER", "").strip(),
        "OIDC_CLIENT_ID": os.environ.get("OIDC_CLIENT_ID", ""),
        "OIDC_CLIENT_SECRET": os.environ.get("OIDC_CLIENT_SECRET", ""),
        "OIDC_SCOPES": os.environ.get("OIDC_SCOPES", "openid email profile"),
        "OIDC_USER_CLAIM": os.environ.get("OIDC_USER_CLAIM", "email"),
        "OIDC_JIT_USERS": _bool(os.environ.get("OIDC_JIT_USERS")),
        "OIDC_BUTTON_LABEL": os.environ.get("OIDC_BUTTON_LABEL", ""),
        "OIDC_TIMEOUT": _int("OIDC_TIMEOUT", 10),
        # LDAP sign-in (bind) and import.
        "LDAP_URL": os.environ.get("LDAP_URL", "").strip(),
        "LDAP_BIND_DN": os.environ.get("LDAP_BIND_DN", ""),
        "LDAP_BIND_PASSWORD": os.environ.get("LDAP_BIND_PASSWORD", ""),
        "LDAP_BASE_DN": os.environ.get("LDAP_BASE_DN", ""),
        "LDAP_USER_FILTER": os.environ.get("LDAP_USER_FILTER", "(objectClass=inetOrgPerson)"),
        "LDAP_GROUP_FILTER": os.environ.get(
            "LDAP_GROUP_FILTER", "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
        ),
        "LDAP_START_TLS": _bool(os.environ.get("LDAP_START_TLS")),
        "LDAP_CA_FILE": os.environ.get("LDAP_CA_FILE", ""),
        "LDAP_ATTR_EMAIL": os.environ.get("LDAP_ATTR_EMAIL", "mail"),
        "LDAP_ATTR_NAME": os.environ.get("LDAP_ATTR_NAME", "cn"),
        "LDAP_ATTR_UPN": os.environ.get("LDAP_ATTR_UPN", ""),
        "LDAP_ATTR_GROUP_NAME": os.environ.get("LDAP_ATTR_GROUP_NAME", "cn"),
        "LDAP_ATTR_MEMBER": os.environ.get("LDAP_ATTR_MEMBER", "member"),
        "LDAP_DEVICE_GROUP_DN": os.environ.get("LDAP_DEVICE_GROUP_DN", ""),
        "LDAP_DEVICE_ATTRIBUTE": os.environ.get("LDAP_DEVICE_ATTRIBUTE", ""),
        "LDAP_JIT_USERS": _bool(os.environ.get("LDAP_JIT_USERS")),
        "LDAP_SYNC_DEACTIVATE_MISSING": _bool(
            os.environ.get("LDAP_SYNC_DEACTIVATE_MISSING"), default=True
        ),
        "LDAP_TIMEOUT": _int("LDAP_TIMEOUT", 5),
        # SCIM provisioning (Entra ID): bearer tokens made on /admin/sign-in last this long.
        "SCIM_TOKEN_DAYS": _int("SCIM_TOKEN_DAYS", 365),
        # Invitations and the e-mail outbox (empty SMTP_URL: mails go to the log and
        # instance/outbox/*.eml; e.g. smtp://user:pass@host:587?starttls=true, smtps://host).
        "INVITATION_TTL_DAYS": _int("INVITATION_TTL_DAYS", 7),
        "INVITATION_RESEND_LIMIT": _int("INVITATION_RESEND_LIMIT", 5),
        "GO_RATE_LIMIT": os.environ.get("GO_RATE_LIMIT", "30 per minute"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", ""),
        "SMTP_URL": os.environ.get("SMTP_URL", ""),
        "SMTP_TIMEOUT": _int("SMTP_TIMEOUT", 30),
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 8),
        "OUTBOX_BATCH_SIZE": _int("OUTBOX_BATCH_SIZE", 50),
        "OUTBOX_LEASE_SECONDS": _int("OUTBOX_LEASE_SECONDS", 300),
        "OUTBOX_BACKOFF_SECONDS": _int("OUTBOX_BACKOFF_SECONDS", 30),
        "OUTBOX_POLL_SECONDS": _int("OUTBOX_POLL_SECONDS", 5),
        # The Slack assistant: mounted at /slack/events when the token and secret are set;
        # SLACK_APP_TOKEN (xapp-…) only for Socket Mode (`flask --app wsgi bot socket`).
        "SLACK_BOT_TOKEN": os.environ.get("SLACK_BOT_TOKEN", ""),
        "SLACK_SIGNING_SECRET": os.environ.get("SLACK_SIGNING_SECRET", ""),
        "SLACK_APP_TOKEN": os.environ.get("SLACK_APP_TOKEN", ""),
        "SLACK_API_BASE_URL": os.environ.get("SLACK_API_BASE_URL", "https://slack.com/api/"),
        # A resend or link asked twice by the same person for the same account within this
        # many seconds (double click, Slack retry) is sent once.
        "SLACK_ACTION_COOLDOWN_SECONDS": _int("SLACK_ACTION_COOLDOWN_SECONDS", 60),
        "SLACK_USER_CACHE_SECONDS": _int("SLACK_USER_CACHE_SECONDS", 600),
        # Apple's Apps and Books service (licences), used once a location token is uploaded.
        "APPS_AND_BOOKS_URL": os.environ.get(
            "APPS_AND_BOOKS_URL", "https://vpp.itunes.apple.com/mdm/v2"
        ).rstrip("/"),
        # Speed: how long each process may reuse a /healthz answer and a discovery answer
        # (seconds; 0: never). Tests see every change at once.
        "HEALTHZ_CACHE_SECONDS": _int("HEALTHZ_CACHE_SECONDS", 0 if env == "testing" else 1),
        "DISCOVERY_CACHE_SECONDS": _int("DISCOVERY_CACHE_SECONDS", 0 if env == "testing" else 30),
        # Responses larger than this many bytes are compressed (gzip or Brotli) when the
        # client accepts it.
        "COMPRESS_MIN_SIZE": _int("COMPRESS_MIN_SIZE", 1024),
    }
    config.update(overrides)
    config["SECRET_KEY"] = overrides.get("SECRET_KEY") or _secret_key(env, instance)
    config["MDM_PUSH"] = config["MDM_PUSH"] or ("apns" if production else "log")
    if config["MDM_PUSH"] not in PUSH_MODES:
        raise ConfigError(f"MDM_PUSH must be apns or log, not {config['MDM_PUSH']!r}")
    config["SQLALCHEMY_DATABASE_URI"] = database_url(config["SQLALCHEMY_DATABASE_URI"], ROOT)
    backend = make_url(config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    if backend == "sqlite":
        # A file is never disconnected: no "SELECT 1" before each request's first query.
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["pool_pre_ping"] = False
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if backend == "postgresql":
        # A health check must answer, not hang, when the database is unreachable.
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.setdefault("connect_args", {"connect_timeout": 3})
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    return config
