"""Forms of the Apple setup page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class AbmForm(FlaskForm):
    name = StringField(
        _l("Organization name in Apple Business Manager"),
        validators=[DataRequired(_l("Give the organization's name.")), Length(max=200)],
    )
    organization_id = StringField(
        _l("Organization ID"),
        validators=[DataRequired(_l("Give the organization ID.")), Length(max=100)],
    )


class TokenForm(FlaskForm):
    token_file = FileField(_l("Location token (.vpptoken file)"))


class CertificateForm(FlaskForm):
    certificate_file = FileField(_l("Push certificate from Apple (.pem, .cer or .p12)"))
    password = PasswordField(_l("Password (PKCS#12 files only)"))


class ConfirmForm(FlaskForm):
    """A button that changes something: CSRF only."""
