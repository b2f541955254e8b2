"""Forms of the users pages: adding a local account, previewing a decision."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..enrollment import service as enrollment
from ..models import Role

ROLE_CHOICES = [
    SelectChoice(Role.EMPLOYEE.value, _l("Employee")),
    SelectChoice(Role.HELPDESK.value, _l("Helpdesk")),
    SelectChoice(Role.ADMIN.value, _l("Administrator")),
]
PLATFORM_CHOICES = [
    SelectChoice("ios", _l("iPhone (iOS)")),
    SelectChoice("ipados", _l("iPad (iPadOS)")),
    SelectChoice("macos", _l("Mac (macOS)")),
]
CHANNEL_CHOICES = [
    SelectChoice("web", _l("Profile or link from the portal")),
    SelectChoice("account", _l("Work account in Settings (account-driven)")),
    SelectChoice("ade", _l("Automated Device Enrollment (Apple Business Manager)")),
    SelectChoice("configurator", _l("Apple Configurator")),
]
# What the preview shows before anyone picks a device: a current iPhone over the portal.
DEFAULT_PREVIEW = {"platform": "ios", "os_version": "18.0", "channel": "web"}


class NewUserForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(_l("Enter the person's work e-mail.")), Length(max=320)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    display_name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter the person's name.")), Length(max=200)],
        render_kw={"autocomplete": "off"},
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.EMPLOYEE.value)
    password = PasswordField(
        _l("Password (optional)"),
        validators=[Optional(), Length(max=1000)],
        render_kw={"autocomplete": "new-password"},
    )


class PreviewForm(FlaskForm):
    """Read from the query string (GET: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    platform = SelectField(_l("Platform"), choices=PLATFORM_CHOICES)
    os_version = StringField(
        _l("OS version"),
        validators=[DataRequired(_l("Enter an OS version, like 17.4.")), Length(max=32)],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"},
    )
    supervised = BooleanField(_l("Supervised by the company"))
    channel = SelectField(_l("How it enrolls"), choices=CHANNEL_CHOICES)

    def validate_os_version(self, field) -> None:
        try:
            enrollment.parse_os_version(field.data)
        except enrollment.InvalidOsVersion as exc:
            raise ValidationError(str(exc)) from exc
