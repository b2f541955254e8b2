"""Forms of the app catalogue and of installing an app on a device."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from ..models import LicenceType, Platform

PLATFORM_LABELS = {
    Platform.IOS.value: _l("iPhone and iPad"),
    Platform.MACOS.value: _l("Mac"),
}
LICENCE_LABELS = {
    LicenceType.USER.value: _l("User-based (Managed Apple ID)"),
    LicenceType.DEVICE.value: _l("Device-based (serial number)"),
}


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class AppEditForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[InputRequired(_l("Give the app's name.")), Length(max=200)]
    )
    platform = SelectField(
        _l("Platform"), choices=[SelectChoice(k, v) for k, v in PLATFORM_LABELS.items()]
    )
    licence_type = SelectField(_l("Licence type"), choices=_choices(LICENCE_LABELS))
    total_licences = IntegerField(
        _l("Licences bought"),
        validators=[
            InputRequired(_l("Give the number of licences.")),
            NumberRange(min=0, max=10_000_000, message=_l("Give a number from 0 to 10,000,000.")),
        ],
    )


class AppForm(AppEditForm):
    adam_id = StringField(
        _l("Apple ID of the app"),
        validators=[InputRequired(_l("Give the app's Apple ID.")), Length(max=300)],
    )


class InstallForm(FlaskForm):
    app_id = IntegerField(_l("App"), validators=[InputRequired()])
