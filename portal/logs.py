"""Request ids and log format.

Every request gets an id: the caller's `X-Request-ID` when it looks like one (a load
balancer's, a proxy's), else a new one; it is returned in the response's `X-Request-ID` and
added to every log record written while the request runs.

`LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message, request id),
and one `request` line per request with route, method, path, status, duration and the acting
user's id (never an e-mail address or a Managed Apple ID). Paths and messages go through the
same masking as the access logs (`access_log.redact`): no check-in secret, token or sign-in
code is ever written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

from . import access_log
from .invitations import logs as invitation_logs

HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
request_log = logging.getLogger("portal.request")
_MARK = "_portal_json"


def redact(text: str) -> str:
    """`text` masked as the access logs are: device queries, tokens, secrets, /go links."""
    return invitation_logs.redact(access_log.redact(text))


def current_request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    return None


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record written during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; secrets in messages masked."""

    FIELDS = ("route", "method", "path", "status", "duration_ms", "user_id", "remote_addr")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


_FILTER = RequestIdFilter()


def _install_filter(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


def configure(log_format: str) -> None:
    """Write logs as JSON lines to stderr (root, werkzeug and gunicorn loggers), once."""
    if log_format != "json":
        return
    root = logging.getLogger()
    formatter = JsonFormatter()
    handler = next((h for h in root.handlers if getattr(h, _MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _MARK, True)
        handler.addFilter(_FILTER)
        for old in list(root.handlers):
            root.removeHandler(old)
        root.addHandler(handler)
    handler.setFormatter(formatter)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for name in ("gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        for h in logger.handlers:
            h.setFormatter(formatter)
        _install_filter(logger)


def configure_cli(config) -> None:
    """Logging for long-running commands (the worker): JSON lines or plain text."""
    if config.get("LOG_FORMAT") == "json":
        configure("json")
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def _start() -> None:
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if _VALID_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    started = g.get("request_started")
    if started is not None and g.get("log_json"):
        from flask_login import current_user

        user_id = None
        try:
            if current_user and current_user.is_authenticated:
                # The user's row id: never get_id() (the session token), e-mail or Apple ID.
                user_id = current_user.id
        except Exception:  # noqa: S110  (a failed user lookup must not lose the log line)
            pass
        full = request.full_path if request.query_string else request.path
        request_log.info(
            "%s %s %s",
            request.method,
            redact(full),
            response.status_code,
            extra={
                "route": request.url_rule.rule if request.url_rule is not None else None,
                "method": request.method,
                "path": redact(full),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": user_id,
                "remote_addr": request.remote_addr,
            },
        )
    return response


def init_app(app: Flask) -> None:
    json_logs = app.config.get("LOG_FORMAT") == "json"
    configure(app.config.get("LOG_FORMAT", "text"))

    @app.before_request
    def _begin() -> None:
        _start()
        g.log_json = json_logs

    app.after_request(_finish)
