"""The rate limiter's storage (Redis in production) when it fails: fail open, say so.

Flask-Limiter is configured (portal.config) to fall back to each process's memory when its
storage stops answering and to go back to it once it answers again; sign-in, `/go/` links
and device endpoints keep working, limited per process. The outage is logged at most once
a minute, and `rate_limit_storage_ok()` tells `/healthz` the storage is degraded.

Flask-Limiter checks every request twice: once before it (for the app-wide and blueprint
limits) and once in the decorator of a limited view, then reads its request context after
it. The portal has no app-wide limits, so the first check runs only for blueprints that
carry limits (SCIM); the decorated views (sign-in, `/go/`, the profile download) are still
checked by their decorator; the after-request step runs only where a check ran; and a
request with no limit (the status poll) costs no limiter work at all.

The device endpoints share a budget per address (`SharedBudget`, below): counted in the
limiter's storage, in batches, without Flask-Limiter's per-request machinery.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, abort, current_app, g, request
from flask.globals import request_ctx
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage

from .extensions import client_address, limiter

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
        self.budgets: dict[str, _Counts] = {}


def _state() -> _State:
    state = current_app.extensions.get("portal_ratelimit")
    if state is None:
        state = current_app.extensions["portal_ratelimit"] = _State()
    return state


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


def incr(key: str, expiry: int, amount: int = 1) -> int:
    """Count `key` in the limiter's storage, or in this process's memory when it fails."""
    try:
        return limiter.storage.incr(key, expiry, amount=amount)
    except Exception as exc:
        log.warning("rate-limit storage unreachable (%s): counting in memory", type(exc).__name__)
        return _state().fallback.incr(key, expiry, amount=amount)


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


def _when_the_limiter_ran(hook: Callable) -> Callable:
    """`hook` (Flask-Limiter's after-request or teardown step) only for requests it checked."""

    def run(value):
        if hasattr(request_ctx._get_current_object(), "_limiter_request_context"):
            return hook(value)
        return value

    return run


def _finish_only_where_limited(app: Flask) -> None:
    """Flask-Limiter's after-request step (its headers, `deduct_when`) and teardown read the
    request's limiter context, which exists only where a limit was checked."""
    steps = {"Limiter.__inject_headers", "Limiter.__release_context"}
    for hooks in (app.after_request_funcs.get(None, []), app.teardown_request_funcs.get(None, [])):
        for n, hook in enumerate(hooks):
            if getattr(getattr(hook, "func", hook), "__qualname__", "") in steps:
                hooks[n] = _when_the_limiter_ran(hook)


def init_app(app: Flask) -> None:
    _check_only_where_limited(app)
    _finish_only_where_limited(app)
    for name in STORAGE_LOGGERS:
        logger = logging.getLogger(name)
        if _once not in logger.filters:
            logger.addFilter(_once)


# -- a shared budget counted in batches ---------------------------------------------------------


@dataclass
class _Count:
    shared: int = 0  # the count every process added to the storage, as last read
    pending: int = 0  # counted here, not yet added to the storage
    sent_at: float = float("-inf")


@dataclass
class _Counts:
    """One budget's counts in one process, for its current window."""

    by_key: dict[str, _Count] = field(default_factory=dict)
    window: tuple[int, int] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class SharedBudget:
    """One request budget per client address, shared by every worker and instance, counted
    in the limiter's storage in batches.

    Counting each request in Redis costs a round trip that took as long as a whole cached
    discovery answer. Here each process adds its count to the shared one every `batch`
    requests (2 % of the budget, at most `MAX_BATCH`) or every `FLUSH_SECONDS`, whichever
    comes first, and counts every request at once when it is within one batch of the
    budget. A budget can so be overrun by at most one batch per process (12 requests per
    process for 600 per minute), never more; budgets under 100 are counted exactly.

    Windows are fixed and aligned to the clock (a minute's budget starts again each
    minute), so a refusal says exactly when to come back (`Retry-After`). When the storage
    fails, `incr` counts in this process's memory (fail open, logged).
    """

    MAX_BATCH = 50
    FLUSH_SECONDS = 1.0

    def __init__(self, scope: str, limit: Callable[[], str]) -> None:
        self.scope = scope
        self._limit = limit

    @staticmethod
    @functools.cache
    def _parse(text: str) -> RateLimitItem:
        return parse(text)

    @classmethod
    def batch_for(cls, amount: int) -> int:
        return max(1, min(cls.MAX_BATCH, amount // 50))

    def spend(self, address: str, now: float | None = None) -> int | None:
        """Count one request of `address`: None within the budget, else the seconds until
        the next window."""
        item = self._parse(self._limit())
        seconds = item.get_expiry()
        now = time.time() if now is None else now
        window = int(now // seconds)
        key = f"{self.scope}/{address}/{item.amount}/{seconds}/{window}"
        batch = self.batch_for(item.amount)
        counts = _state().budgets.setdefault(self.scope, _Counts())
        with counts.lock:
            if counts.window != (seconds, window):  # a new window: the old counts are over
                counts.by_key.clear()
                counts.window = (seconds, window)
            count = counts.by_key.setdefault(key, _Count())
            count.pending += 1
            known_over = count.shared > item.amount  # counts only grow within a window
            send = now - count.sent_at >= self.FLUSH_SECONDS or count.pending >= batch
            if not known_over and count.shared + count.pending + batch > item.amount:
                send = True  # close to the budget: count exactly
            amount = 0
            if send:
                amount, count.pending, count.sent_at = count.pending, 0, now
        if amount:
            total = incr(key, seconds, amount)
            with counts.lock:
                count.shared = max(count.shared, total)
        if count.shared + count.pending <= item.amount:
            return None
        return max(1, math.ceil((window + 1) * seconds - now))

    def __call__(self, view: Callable) -> Callable:
        """Decorate `view`: past the budget, 429 with `Retry-After` (and nothing else runs)."""

        @functools.wraps(view)
        def limited(*args, **kwargs):
            # This app's setting: the limiter object is shared by every app of a process.
            if current_app.config.get("RATELIMIT_ENABLED", True):
                wait = self.spend(client_address())
                if wait is not None:
                    log.warning("request budget %r spent by an address: answering 429", self.scope)
                    g.retry_after = str(wait)
                    abort(429)
            return view(*args, **kwargs)

        return limited
