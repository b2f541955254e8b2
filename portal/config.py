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
LOG_FORMATS = ("text", "json")


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


def private_directory(path: Path) -> Path:
    """Create `path` and its missing parents readable by their owner only (0700)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    return path


def private_file(path: Path) -> None:
    """Create an empty `path` readable by its owner only (0600), unless it exists."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from exc


def database_url(raw: str, base: Path) -> str:
    """Resolve a relative SQLite path against `base` (the repository root).

    The development database is created private (folder 0700, file 0600; SQLite gives its
    -wal and -shm files the database's own permissions): it holds personal data.
    """
    url = make_url(raw)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database)
        if not path.is_absolute():
            path = base / path
            private_directory(path.parent)
            private_file(path)
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
    private_directory(instance)
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
        # Storage down (Redis unreachable): limits fall back to each process's memory.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
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
        # Ask each device what it is (model, OS version, work profiles and apps) as soon as
        # it enrolls; `flask mdm refresh-facts` asks again daily.
        "MDM_DEVICE_FACTS": _bool(os.environ.get("MDM_DEVICE_FACTS"), default=True),
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
        # Entra tenant GUIDs allowed to sign in (needed for the common/organizations
        # endpoints and a tenant given by its domain name; checks `tid` when set).
        "OIDC_ALLOWED_TENANTS": os.environ.get("OIDC_ALLOWED_TENANTS", ""),
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
        # Requests per SCIM bearer token (Entra ID sends bursts during a full cycle).
        "SCIM_RATE_LIMIT": os.environ.get("SCIM_RATE_LIMIT", "1200 per minute"),
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
        # Rollout: the helpdesk's Slack channel for failures that need a person (id or #name),
        # when reminders go out for people with no time zone of their own, and how many days
        # after an invitation with nothing since a person counts as stuck.
        "SLACK_HELPDESK_CHANNEL": os.environ.get("SLACK_HELPDESK_CHANNEL", "").strip(),
        "REMINDER_DEFAULT_TIME_ZONE": os.environ.get("REMINDER_DEFAULT_TIME_ZONE", "UTC"),
        "ROLLOUT_STUCK_DAYS": _int("ROLLOUT_STUCK_DAYS", 3),
        # Apple's Apps and Books service (licences), used once a location token is uploaded.
        "APPS_AND_BOOKS_URL": os.environ.get(
            "APPS_AND_BOOKS_URL", "https://vpp.itunes.apple.com/mdm/v2"
        ).rstrip("/"),
        # Request bodies: the largest any route accepts, answered 413 beyond (forms are far
        # smaller); larger for the Apple uploads and SCIM (a group's member list).
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 512 * 1024),
        "UPLOAD_MAX_CONTENT_LENGTH": _int("UPLOAD_MAX_CONTENT_LENGTH", 1024 * 1024),
        "SCIM_MAX_CONTENT_LENGTH": _int("SCIM_MAX_CONTENT_LENGTH", 16 * 1024 * 1024),
        # A rate-limit storage (Redis) must answer within this many seconds, else the
        # limits fall back to memory and /healthz reports the storage degraded.
        "RATELIMIT_STORAGE_TIMEOUT": _int("RATELIMIT_STORAGE_TIMEOUT", 2),
        # Database unreachable: pages, fragments, JSON and devices get 503 with this
        # Retry-After (seconds).
        "DATABASE_RETRY_AFTER": _int("DATABASE_RETRY_AFTER", 30),
        # Enrollment profile downloads: per person, and how long a downloaded profile's
        # check-in secret is reused by the next download (two tabs, a second try).
        "PROFILE_DOWNLOAD_LIMIT": os.environ.get("PROFILE_DOWNLOAD_LIMIT", "10 per hour"),
        "MDM_PROFILE_REUSE_HOURS": _int("MDM_PROFILE_REUSE_HOURS", 24),
        # The background worker (`flask --app wsgi worker run`): how often it looks for
        # pushes to send when idle; enrollments started and never finished expire after
        # this many hours; sent e-mail is kept this many days.
        "WORKER_POLL_SECONDS": _float("WORKER_POLL_SECONDS", 1.0),
        "ENROLLMENT_PENDING_HOURS": _int("ENROLLMENT_PENDING_HOURS", 24),
        "OUTBOX_KEEP_DAYS": _int("OUTBOX_KEEP_DAYS", 30),
        # Logs: `text` or `json` (one object per line, with request ids).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text").strip().lower() or "text",
        # GET /metrics without signing in: from these networks, or with this bearer token.
        "METRICS_ALLOW": os.environ.get("METRICS_ALLOW", "127.0.0.0/8, ::1/128"),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        # Web processes serving this app on this machine (gunicorn's -w, WEB_CONCURRENCY).
        "WEB_CONCURRENCY": _int("WEB_CONCURRENCY", 1),
        # Declarative Device Management status channel: User-Enrolled devices (iOS 15+,
        # macOS 13+) get the DeclarativeManagement command at enrollment and report their
        # OS version, passcode compliance and managed apps by themselves.
        "MDM_DECLARATIVE_STATUS": _bool(os.environ.get("MDM_DECLARATIVE_STATUS"), True),
        # Devices one person may have enrolled per platform (iPhone, iPad, Mac); 0: no limit.
        # Enrolling one of their listed devices again does not take a new place.
        "MAX_DEVICES_PER_USER": _int("MAX_DEVICES_PER_USER", 5),
        # Speed: how long each process may reuse a /healthz answer and a discovery answer
        # (seconds; 0: never). Tests see every change at once.
        "HEALTHZ_CACHE_SECONDS": _int("HEALTHZ_CACHE_SECONDS", 0 if env == "testing" else 1),
        "DISCOVERY_CACHE_SECONDS": _int("DISCOVERY_CACHE_SECONDS", 0 if env == "testing" else 30),
        # How long the rollout dashboard may show a funnel counted earlier by the same process
        # (seconds; 0: count on every view). The page says when it was counted.
        "ROLLOUT_FUNNEL_CACHE_SECONDS": _int(
            "ROLLOUT_FUNNEL_CACHE_SECONDS", 0 if env == "testing" else 60
        ),
        # Responses larger than this many bytes are compressed (gzip or Brotli) when the
        # client accepts it.
        "COMPRESS_MIN_SIZE": _int("COMPRESS_MIN_SIZE", 1024),
    }
    config.update(overrides)
    config["SECRET_KEY"] = overrides.get("SECRET_KEY") or _secret_key(env, instance)
    config["MDM_PUSH"] = config["MDM_PUSH"] or ("apns" if production else "log")
    if config["MDM_PUSH"] not in PUSH_MODES:
        raise ConfigError(f"MDM_PUSH must be apns or log, not {config['MDM_PUSH']!r}")
    if config["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, not {config['LOG_FORMAT']!r}")
    try:
        metrics_networks(config["METRICS_ALLOW"])
    except ValueError as exc:
        raise ConfigError(f"METRICS_ALLOW: {exc} (give networks like 10.0.0.0/8)") from exc
    config["SQLALCHEMY_DATABASE_URI"] = database_url(config["SQLALCHEMY_DATABASE_URI"], ROOT)
    if config["RATELIMIT_STORAGE_URI"].startswith(("redis", "valkey")):
        timeout = config["RATELIMIT_STORAGE_TIMEOUT"]
        options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", options)
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
        # Connections idle longer than this are checked before use (portal.pool); one
        # used a moment ago saves the round trip of pool_pre_ping. 0: check every time.
        idle = float(
            config.get("DATABASE_PING_IDLE_SECONDS", _float("DATABASE_PING_IDLE_SECONDS", 5.0))
        )
        if idle > 0 and options.get("pool_pre_ping"):
            options["pool_pre_ping"] = False
            config["DATABASE_PING_IDLE_SECONDS"] = idle
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    return config


def metrics_networks(raw: str) -> list:
    import ipaddress

    return [ipaddress.ip_network(p.strip(), strict=False) for p in raw.split(",") if p.strip()]


def production_problems(config: dict, *, workers: int | None = None) -> list[str]:
    """What makes this configuration unfit for production, each saying what to set."""
    if config.get("PORTAL_ENV") != "production":
        return []
    problems = []
    if not str(config.get("PUBLIC_BASE_URL", "")).lower().startswith("https://"):
        problems.append(
            f"PUBLIC_BASE_URL must be an https:// address in production, not "
            f"{config.get('PUBLIC_BASE_URL')!r}: Apple devices enroll and check in over HTTPS "
            "only. Put a TLS proxy in front of the portal and set PUBLIC_BASE_URL to its "
            "https:// address."
        )
    workers = workers if workers is not None else int(config.get("WEB_CONCURRENCY") or 1)
    storage = str(config.get("RATELIMIT_STORAGE_URI", "memory://"))
    if workers > 1 and storage.startswith("memory://"):
        problems.append(
            f"RATELIMIT_STORAGE_URI is {storage!r} (in memory) with {workers} web workers: each "
            "would count sign-in attempts on its own. Set RATELIMIT_STORAGE_URI to a Redis "
            "server shared by every worker (redis://host:6379/0)."
        )
    return problems


def check_production(config: dict, *, workers: int | None = None) -> None:
    """Refuse to start (ConfigError) with a production configuration that cannot work."""
    problems = production_problems(config, workers=workers)
    if problems:
        raise ConfigError("Refusing to start in production:\n- " + "\n- ".join(problems))
