"""The other kinds: certificates (PKCS#12, SCEP), web clip, passcode and managed app
configuration."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...models import ConfigurationKind as Kind
from .fields import (
    PASSCODE,
    PKCS12,
    SCEP,
    SETTINGS_COMMAND,
    WEBCLIP,
    Field,
    KindSpec,
    _fields,
)

SPECS: list[KindSpec] = []
_spec = SPECS.append

_spec(
    KindSpec(
        Kind.PKCS12,
        _l("Certificate (PKCS#12)"),
        _l("An identity (certificate and private key) from a .p12 file."),
        PKCS12,
        _fields(
            PKCS12,
            Field("file", "PayloadContent", _l("PKCS#12 file (.p12)"), "file", required=True),
            Field("file_name", "PayloadCertificateFileName", _l("File name")),
            Field("password", "Password", _l("File password"), "secret"),
        ),
        conflict_field="file_name",
    )
)
_spec(
    KindSpec(
        Kind.SCEP,
        _l("Certificate (SCEP)"),
        _l("An identity the device requests itself from the company's SCEP server."),
        SCEP,
        _fields(
            SCEP,
            Field("url", "PayloadContent.URL", _l("SCEP server URL"), required=True),
            Field("ca_name", "PayloadContent.Name", _l("CA name")),
            Field(
                "subject",
                "PayloadContent.Subject",
                _l("Subject (e.g. CN={email})"),
                default="CN={email}",
            ),  # fmt: skip
            Field("challenge", "PayloadContent.Challenge", _l("Challenge"), "secret"),
            Field(
                "key_size",
                "PayloadContent.Keysize",
                _l("Key size"),
                "choice",
                choices=(("2048", "2048"), ("4096", "4096")),
                default="2048",
            ),
            Field(
                "key_usage",
                "PayloadContent.Key Usage",
                _l("Key usage"),
                "choice",
                choices=(
                    ("5", _l("Signing and encryption")),
                    ("1", _l("Signing")),
                    ("4", _l("Encryption")),
                ),
                default="5",
            ),
        ),
        conflict_field="url",
    )
)
_spec(
    KindSpec(
        Kind.WEBCLIP,
        _l("Web clip"),
        _l("A work web page on the Home Screen or in the Dock."),
        WEBCLIP,
        _fields(
            WEBCLIP,
            Field("label", "Label", _l("Label"), required=True),
            Field("url", "URL", _l("Address (URL)"), required=True),
            Field(
                "removable", "IsRemovable", _l("The person may remove it"), "bool", default=True
            ),  # fmt: skip
            Field("full_screen", "FullScreen", _l("Open full screen"), "bool", default=False),
        ),
        conflict_field="url",
    )
)
_spec(
    KindSpec(
        Kind.PASSCODE,
        _l("Passcode"),
        _l("The passcode the device must have."),
        PASSCODE,
        _fields(
            PASSCODE,
            Field("forcePIN", "forcePIN", _l("Require a passcode"), "bool", default=True),
            Field(
                "allowSimple",
                "allowSimple",
                _l("Allow simple passcodes such as 1234"),
                "bool",
                default=False,
            ),  # fmt: skip
            Field(
                "requireAlphanumeric",
                "requireAlphanumeric",
                _l("Require letters"),
                "bool",
                default=False,
            ),  # fmt: skip
            Field(
                "minLength", "minLength", _l("Minimum length"), "int", bounds=(0, 16), default=6
            ),  # fmt: skip
            Field(
                "minComplexChars",
                "minComplexChars",
                _l("Minimum special characters"),
                "int",
                bounds=(0, 4),
            ),  # fmt: skip
            Field(
                "maxFailedAttempts",
                "maxFailedAttempts",
                _l("Failed attempts before erase or lock"),
                "int",
                bounds=(2, 11),
            ),  # fmt: skip
            Field(
                "maxInactivity",
                "maxInactivity",
                _l("Auto-lock after (minutes)"),
                "int",
                bounds=(0, 15),
            ),  # fmt: skip
            Field(
                "maxPINAgeInDays",
                "maxPINAgeInDays",
                _l("Maximum passcode age (days)"),
                "int",
                bounds=(0, 730),
            ),  # fmt: skip
            Field(
                "pinHistory", "pinHistory", _l("Passcodes remembered"), "int", bounds=(1, 50)
            ),  # fmt: skip
        ),
        macos_user_enrollment_name="passcode",
        conflict_field=None,
    )
)
_spec(
    KindSpec(
        Kind.APP_CONFIG,
        _l("Managed app configuration"),
        _l(
            "Settings for one work app (its managed configuration), sent with Apple's "
            "Settings command."
        ),  # fmt: skip
        SETTINGS_COMMAND,
        _fields(
            SETTINGS_COMMAND,
            Field("bundle_id", "Identifier", _l("App bundle ID"), required=True),
            Field(
                "values",
                "Configuration",
                _l("Settings, one key=value a line"),
                "lines",
                required=True,
            ),
        ),
        conflict_field="bundle_id",
    )
)
