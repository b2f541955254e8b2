"""Forms of the sign-in sources and LDAP import pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SearchField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ..models import AppleIdScheme


class IdentitySettingsForm(FlaskForm):
    apple_id_scheme = RadioField(
        _l("Managed Apple IDs are made from"),
        choices=[
            SelectChoice(AppleIdScheme.EMAIL.value, _l("the work e-mail address")),
            SelectChoice(AppleIdScheme.UPN.value, _l("the user principal name (UPN)")),
        ],
        validators=[DataRequired(), AnyOf([s.value for s in AppleIdScheme])],
    )
    apple_id_subdomain = BooleanField(_l("Put them in the appleid. subdomain"))
    invite_imported_users = BooleanField(
        _l("Invite imported users automatically (LDAP and Entra ID)")
    )
    sample_email = EmailField(
        _l("Sample e-mail"),
        validators=[Optional(), Length(max=320)],
        default="jane.doe@example.com",
    )
    sample_upn = StringField(
        _l("Sample UPN"), validators=[Optional(), Length(max=320)], default="jdoe@corp.example.com"
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token, and which action."""

    action = HiddenField(validators=[Optional(), AnyOf(["create", "rotate", "revoke", ""])])


class LdapSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a search reads; it changes nothing

    q = SearchField(_l("Search the directory"), validators=[Length(max=100)])
    kind = RadioField(
        _l("Look for"),
        choices=[
            SelectChoice("people", _l("People")),
            SelectChoice("groups", _l("Groups")),
            SelectChoice("ous", _l("Organizational units")),
        ],
        default="people",
        validators=[AnyOf(["people", "groups", "ous"])],
    )


class LdapImportForm(FlaskForm):
    """The chosen DNs come as repeated `user_dn`, `group_dn` and `ou_dn` fields."""
