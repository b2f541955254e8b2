"""The rate limiter's storage (Redis in production) when it fails: fail open, say so.

Flask-Limiter is configured (portal.config) to fall back to each process's memory when its
storage stops answering and to go back to it once it answers again; sign-in, `/go/` links
and device endpoints keep working, limited per process. The outage is logged at most once
a minute, and `rate_limit_storage_ok()` tells `/healthz` the storage is degraded.

Flask-Limiter checks every request twice: once before it (for the app-wide and blueprint
limits) and once in the decorator of a limited view. The portal has no app-wide limits, so
the first check runs only for blueprints that carry limits (SCIM); the decorated views
(sign-in, device endpoints, `/go/`) are still checked by their decorator, and a request
with no limit (the status poll) costs no limiter work.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app, request
from limits.storage import MemoryStorage

from .extensions import limiter

log = logging.getLogger(__name__)

CHECK_SECONDS = 10
LOG_SECONDS = 60
# Loggers that warn about the storage on every request while it is down.
STORAGE_LOGGERS = ("flask-limiter", __name__)


class OncePerMinute(logging.Filter):
    """Let each warning through once per `LOG_SECONDS` (a dead Redis is one fact, not
    one per request)."""

    def __init__(self, seconds: int = LOG_SECONDS) -> None:
        super().__init__()
        self.seconds = seconds
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = time.monotonic()
        key = f"{record.name}:{record.msg}"
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.seconds:
                return False
            self._last[key] = now
        return True


_once = OncePerMinute()


class _State:
    def __init__(self) -> None:
        self.checked = float("-inf")
        self.ok = True
        self.fallback = MemoryStorage()


def _state() -> _State:
    return current_app.extensions.setdefault("portal_ratelimit", _State())


def rate_limit_storage_ok() -> bool:
    """Whether the rate limiter's storage answers (checked at most every CHECK_SECONDS)."""
    if not limiter.enabled:
        return True
    state = _state()
    now = time.monotonic()
    if now - state.checked >= CHECK_SECONDS:
        try:
            state.ok = bool(limiter.storage.check())
        except Exception:
            state.ok = False
        state.checked = now
        if not state.ok:
            log.warning("rate-limit storage unreachable: limits are kept in each process's memory")
    return state.ok


def incr(key: str, expiry: int) -> int:
    """Count `key` in the limiter's storage, or in this process's memory when it fails."""
    try:
        return limiter.storage.incr(key, expiry)
    except Exception as exc:
        log.warning("rate-limit storage unreachable (%s): counting in memory", type(exc).__name__)
        return _state().fallback.incr(key, expiry)


def _check_where_limited() -> None:
    """The limiter's own before-request check, for the requests it can limit there."""
    manager = limiter.limit_manager
    everywhere = manager._application_limits or manager._default_limits or limiter._meta_limits
    if everywhere or any(name in manager._blueprint_limits for name in request.blueprints):
        limiter._check_request_limit()


def _check_only_where_limited(app: Flask) -> None:
    checks = app.before_request_funcs.get(None, [])
    for n, check in enumerate(checks):
        if check == limiter._check_request_limit:
            checks[n] = _check_where_limited


def init_app(app: Flask) -> None:
    _check_only_where_limited(app)
    for name in STORAGE_LOGGERS:
        logger = logging.getLogger(name)
        if _once not in logger.filters:
            logger.addFilter(_once)
