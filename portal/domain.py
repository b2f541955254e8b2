"""The base of the errors services raise when they refuse a change."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A refused change, explained to a person.

    `field` names the form field at fault (if any) and `status` the HTTP code a web view
    answers with. `str()` gives the message in the request's language; the exception's args
    keep the English text for logs, CLI commands and workers, which have no request.
    """

    field: str | None = None
    status = 400
    default_message = _l("That change cannot be made.")

    def __init__(
        self, message: object | None = None, field: str | None = None, status: int | None = None
    ) -> None:
        self.message = message if message is not None else self.default_message
        if field is not None:
            self.field = field
        if status is not None:
            self.status = status
        with force_locale("en"):
            super().__init__(str(self.message))

    def __str__(self) -> str:
        return str(self.message) if has_request_context() else self.args[0]
