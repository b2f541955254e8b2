"""How admin views show a service's refusal: on the form, or as the error page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from werkzeug.exceptions import default_exceptions


def refuse(status: int, message: object):
    """Abort with `status` and a message the error page shows as it is."""
    error = default_exceptions[status](description=str(message))
    error.portal_detail = True
    raise error


def field_error(form: FlaskForm, error: Exception) -> None:
    """Put a domain error's message on its form field (or on the form as a whole)."""
    field = getattr(form, getattr(error, "field", None) or "", None)
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))
