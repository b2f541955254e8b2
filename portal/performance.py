"""Serving fast and visibly: compression, fingerprinted static files, Retry-After, logging.

- Pages, fragments, JSON, CSS and JavaScript larger than `COMPRESS_MIN_SIZE` are compressed
  (Flask-Compress: Brotli, zstd or gzip, whatever the browser accepts).
- `url_for('static', …)` adds `?v=<content hash>`: a URL names one version of a file, which
  browsers may then keep for a year without asking again; a change makes a new URL.
- Rate-limit answers (429) carry `Retry-After` (the limiter's own headers are off: they
  cost two storage calls on every request).
- Server errors always reach a log: under gunicorn the portal's loggers write through
  gunicorn's error log, elsewhere to standard error.
- The session cookie's signing serializer is built once per key, not on every request.
- `Portal`, the app's class: Flask asks of every hook and view, on every request, whether it
  is a coroutine (about twenty times a request); the answer is kept per function.
- `GET /healthz` answers load balancers that ask every few seconds, per process and per
  instance: its whole answer (status, headers, body) is reused for
  `HEALTHZ_CACHE_SECONDS` (default 1) straight from the WSGI layer, so a burst of checks
  costs one database probe a second.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import time
import weakref
from pathlib import Path

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_compress import Compress

YEAR = 365 * 24 * 60 * 60
compress = Compress()


class Portal(Flask):
    """Flask, with the answer to "is this hook or view async?" kept per function.

    The portal has no async views, but `Flask.ensure_sync` inspects each function again
    on every call; here it is inspected once (and async functions still work). Weak keys:
    a function made for one request (`after_this_request`) is forgotten with it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sync_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def ensure_sync(self, func):
        try:
            if self._sync_functions.get(func):
                return func
        except TypeError:  # neither hashable nor weakly referable: asked every time
            return super().ensure_sync(func)
        sync = super().ensure_sync(func)
        if sync is func:  # an async function is wrapped anew each time, as Flask does
            self._sync_functions[func] = True
        return sync


def init_app(app: Flask) -> None:
    seconds = float(app.config.get("HEALTHZ_CACHE_SECONDS", 0))
    if seconds > 0:
        app.wsgi_app = CachedHealthCheck(app.wsgi_app, seconds)
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    app.config.setdefault("COMPRESS_REGISTER", True)
    # Static files are sent as streams: compress them too (and evaluate their ETags after).
    app.config.setdefault("COMPRESS_STREAMS", True)
    compress.init_app(app)
    app.session_interface = ReusedSerializerSessionInterface()
    app.url_defaults(_static_version)
    app.after_request(_long_cache_for_versioned_static)
    app.after_request(_retry_after)
    install_log_handler()


# -- the session cookie ------------------------------------------------------------------------


class ReusedSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, unchanged, with the signing serializer kept.

    Flask builds a new serializer for every request, opening and saving (and testing it
    by serializing an empty document); it depends only on the keys, so it is reused until
    `SECRET_KEY` or `SECRET_KEY_FALLBACKS` change.
    """

    def __init__(self) -> None:
        self._kept: tuple[tuple, object] | None = None

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._kept
        if kept is not None and kept[0] == keys:
            return kept[1]
        serializer = super().get_signing_serializer(app)
        self._kept = (keys, serializer)
        return serializer


# -- health checks ------------------------------------------------------------------------------


class CachedHealthCheck:
    """WSGI middleware: `GET /healthz` answered from the last answer while it is fresh."""

    PATH = "/healthz"

    def __init__(self, wsgi_app, seconds: float) -> None:
        self.wsgi_app = wsgi_app
        self.seconds = seconds
        self._answer: tuple[float, str, list, bytes] | None = None
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.PATH or environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        answer = self._answer
        if answer is not None and answer[0] > time.monotonic():
            _expires, status, headers, body = answer
            start_response(status, list(headers))
            return [body]
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = b"".join(self.wsgi_app(environ, capture))
        status = captured.get("status", "")
        # Only plain answers are kept: not a compressed one (its encoding was this client's),
        # nor one setting a cookie.
        names = {k.lower() for k, _v in captured.get("headers", [])}
        encoded = "content-encoding" in names or "set-cookie" in names
        if status[:3] in ("200", "503") and not encoded:
            with self._lock:
                self._answer = (
                    time.monotonic() + self.seconds,
                    status,
                    list(captured["headers"]),
                    body,
                )
        return [body]


# -- static files -------------------------------------------------------------------------


def _file_hash(path: Path, mtime: float) -> str:
    key = (str(path), mtime)
    found = _HASHES.get(key)
    if found is None:
        found = _HASHES[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return found


_HASHES: dict[tuple[str, float], str] = {}


def static_version(filename: str) -> str | None:
    """The content hash of static file `filename`, or None when there is no such file."""
    folder = current_app.static_folder
    if not folder:
        return None
    path = Path(folder, filename)
    try:
        resolved = path.resolve(strict=True)
        if Path(folder).resolve() not in resolved.parents:
            return None
        return _file_hash(resolved, resolved.stat().st_mtime)
    except OSError:
        return None


def _static_version(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = static_version(values["filename"])
        if version:
            values["v"] = version


def _long_cache_for_versioned_static(response):
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    version = request.args.get("v")
    filename = (request.view_args or {}).get("filename", "")
    if version and version == static_version(filename):
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        response.expires = None
    return response


# -- rate limits ------------------------------------------------------------------------------


def _retry_after(response):
    if response.status_code != 429 or "Retry-After" in response.headers:
        return response
    from .extensions import limiter

    seconds = 60
    try:
        current = limiter.current_limit
        if current is not None:
            seconds = max(1, int(current.reset_at - time.time()))
    except Exception:  # the storage may be down; a plain minute is still an answer
        logging.getLogger(__name__).warning("cannot read the rate limit window", exc_info=True)
    response.headers["Retry-After"] = str(seconds)
    return response


# -- logging ----------------------------------------------------------------------------------


def install_log_handler() -> None:
    """Give the portal's loggers a handler when nothing else would print their records.

    Under gunicorn, records go through gunicorn's error log handlers (its `--error-logfile`
    and format); elsewhere to standard error. Without this, a 500's traceback logged by
    `portal.errors` reached no handler. Left alone when the root logger has handlers (the
    host application's or the test runner's logging configuration).
    """
    if logging.getLogger().handlers:
        return
    gunicorn = logging.getLogger("gunicorn.error").handlers
    for name in ("portal", "bot"):
        logger = logging.getLogger(name)
        if logger.handlers:
            continue
        if gunicorn:
            for handler in gunicorn:
                logger.addHandler(handler)
        else:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
            logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
