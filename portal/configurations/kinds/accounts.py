"""The account kinds: Exchange, mail, CalDAV and CardDAV."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...models import ConfigurationKind as Kind
from .fields import (
    CALDAV,
    CARDDAV,
    EXCHANGE,
    MAIL,
    Field,
    KindSpec,
    _fields,
)

MAIL_AUTH = (
    ("EmailAuthPassword", _l("Password")),
    ("EmailAuthCRAMMD5", "CRAM-MD5"),
    ("EmailAuthNTLM", "NTLM"),
    ("EmailAuthNone", _l("None")),
)

SPECS: list[KindSpec] = []
_spec = SPECS.append

_spec(
    KindSpec(
        Kind.EXCHANGE,
        _l("Exchange ActiveSync"),
        _l("The work mail, calendar and contacts account (Exchange, Microsoft 365)."),
        EXCHANGE,
        _fields(
            EXCHANGE,
            Field("host", "Host", _l("Server"), required=True),
            Field("email", "EmailAddress", _l("E-mail address"), default="{email}"),
            Field("username", "UserName", _l("User name"), default="{email}"),
            Field("ssl", "SSL", _l("Use SSL"), "bool", default=True),
            Field("oauth", "OAuth", _l("Sign in with OAuth"), "bool", default=False),
            Field(
                "prevent_move",
                "PreventMove",
                _l("Keep work mail in work apps"),
                "bool",
                default=True,
            ),  # fmt: skip
            Field(
                "days",
                "MailNumberOfPastDaysToSync",
                _l("Days of mail to sync (0: all)"),
                "int",
                bounds=(0, 31),
                default=14,
            ),
        ),
        platforms=("ios",),
        conflict_field="host",
    )
)
_spec(
    KindSpec(
        Kind.MAIL,
        _l("Mail (IMAP or POP)"),
        _l("A work mail account on an IMAP or POP server."),
        MAIL,
        _fields(
            MAIL,
            Field("description", "EmailAccountDescription", _l("Account description")),
            Field(
                "type",
                "EmailAccountType",
                _l("Account type"),
                "choice",
                choices=(("EmailTypeIMAP", "IMAP"), ("EmailTypePOP", "POP")),
                default="EmailTypeIMAP",
            ),
            Field("email", "EmailAddress", _l("E-mail address"), default="{email}"),
            Field("in_host", "IncomingMailServerHostName", _l("Incoming server"), required=True),
            Field(
                "in_port",
                "IncomingMailServerPortNumber",
                _l("Incoming port"),
                "int",
                bounds=(1, 65535),
                default=993,
            ),  # fmt: skip
            Field(
                "in_ssl",
                "IncomingMailServerUseSSL",
                _l("Incoming server uses SSL"),
                "bool",
                default=True,
            ),  # fmt: skip
            Field(
                "in_user", "IncomingMailServerUsername", _l("Incoming user name"), default="{email}"
            ),  # fmt: skip
            Field(
                "in_auth",
                "IncomingMailServerAuthentication",
                _l("Incoming authentication"),
                "choice",
                choices=MAIL_AUTH,
                default="EmailAuthPassword",
            ),  # fmt: skip
            Field("out_host", "OutgoingMailServerHostName", _l("Outgoing server"), required=True),
            Field(
                "out_port",
                "OutgoingMailServerPortNumber",
                _l("Outgoing port"),
                "int",
                bounds=(1, 65535),
                default=587,
            ),  # fmt: skip
            Field(
                "out_ssl",
                "OutgoingMailServerUseSSL",
                _l("Outgoing server uses SSL"),
                "bool",
                default=True,
            ),  # fmt: skip
            Field(
                "out_user",
                "OutgoingMailServerUsername",
                _l("Outgoing user name"),
                default="{email}",
            ),  # fmt: skip
            Field(
                "out_auth",
                "OutgoingMailServerAuthentication",
                _l("Outgoing authentication"),
                "choice",
                choices=MAIL_AUTH,
                default="EmailAuthPassword",
            ),  # fmt: skip
        ),
        conflict_field="in_host",
    )
)
for _kind, _type, _prefix, _label, _summary in (
    (Kind.CALDAV, CALDAV, "CalDAV", _l("CalDAV calendar"), _l("A work calendar account.")),
    (Kind.CARDDAV, CARDDAV, "CardDAV", _l("CardDAV contacts"), _l("A work contacts account.")),
):
    _spec(
        KindSpec(
            _kind,
            _label,
            _summary,
            _type,
            _fields(
                _type,
                Field("description", f"{_prefix}AccountDescription", _l("Account description")),
                Field("host", f"{_prefix}HostName", _l("Server"), required=True),
                Field("port", f"{_prefix}Port", _l("Port"), "int", bounds=(1, 65535), default=443),
                Field("ssl", f"{_prefix}UseSSL", _l("Use SSL"), "bool", default=True),
                Field("username", f"{_prefix}Username", _l("User name"), default="{email}"),
                Field("principal_url", f"{_prefix}PrincipalURL", _l("Principal URL")),
            ),
            conflict_field="host",
        )
    )
