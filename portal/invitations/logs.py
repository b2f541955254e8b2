"""Keep invitation tokens out of access logs: `/go/<token>` is logged as `/go/…`."""

from __future__ import annotations

import logging
import re

GO_LINK = re.compile(r"/go/[A-Za-z0-9_\-%]{8,}")
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def redact(text: str) -> str:
    return GO_LINK.sub("/go/…", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/go/" in message:
            record.msg = redact(message)
            record.args = None
        return True


_FILTER = RedactTokens()


def install() -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
