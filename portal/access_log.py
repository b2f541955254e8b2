"""Keep secrets in URLs out of the access logs (the development server's and gunicorn's).

A device's check-in and command URLs carry its enrollment secret (`/mdm/checkin?e=…`), the
account-driven URLs a Managed Apple ID (`?user-identifier=…`): the query of every `/mdm/` and
service-discovery request is logged as `?…`. Elsewhere, parameters named like a token or a
secret (`token=`, `access-token=`, `client_secret=`), and OpenID Connect's `code` and `state`,
keep their name and lose their value.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
MASK = "…"
DEVICE_PATHS = ("/mdm/", "/.well-known/com.apple.remotemanagement")
DEVICE_QUERY = re.compile(
    r"((?:/mdm/|/\.well-known/com\.apple\.remotemanagement)[^\s?\"]*)\?[^\s\"]*"
)
# `code` and `state`: the OpenID Connect callback's one-time code and its signed state.
SECRET_PARAMETER = re.compile(
    r"([?&](?:[\w.\-]*(?:token|secret)|code|state)=)[^&#\s\"]*", re.IGNORECASE
)


def redact(text: str) -> str:
    """`text` with device queries and token or secret parameter values masked."""
    text = DEVICE_QUERY.sub(rf"\1?{MASK}", text)
    return SECRET_PARAMETER.sub(rf"\1{MASK}", text)


def _redact_atoms(atoms: dict) -> None:
    """Mask gunicorn's access-log atoms in place, for formats that log the query alone."""
    path, query = atoms.get("U"), atoms.get("q")
    if isinstance(query, str) and query:
        if isinstance(path, str) and path.startswith(DEVICE_PATHS):
            atoms["q"] = MASK
        else:
            atoms["q"] = redact("?" + query)[1:]
    if isinstance(atoms.get("r"), str):
        atoms["r"] = redact(atoms["r"])


class RedactSecrets(logging.Filter):
    """Rewrites an access-log record's message with its secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):  # gunicorn logs `access_log_format % atoms`
            _redact_atoms(record.args)
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Add the filter to the access loggers (once)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
