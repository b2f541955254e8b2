"""Form values checked and turned into the stored settings of a kind."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from ...models import ConfigurationKind as Kind
from .fields import (
    BUNDLE_ID,
    MAX_FILE,
    MAX_TEXT,
    KindSpec,
    SettingsError,
)
from .specs import SPECS


def clean(kind: Kind, raw: Mapping[str, Any], stored: Iterable[str] = ()) -> dict[str, Any]:
    """The stored settings of `kind` from form values (strings, files as bytes).

    Secrets stay as given: the service encrypts them. `stored` names the secrets and files
    already kept, which an empty field leaves as they are. Raises SettingsError on the first
    value Apple would not accept.
    """
    spec = SPECS[Kind(kind)]
    kept = set(stored)
    cleaned: dict[str, Any] = {}
    for f in spec.fields:
        value = raw.get(f.name)
        if f.name in kept and value in (None, "", b""):
            continue
        if f.input == "bool":
            cleaned[f.name] = value in (True, "y", "on", "true", "1")
            continue
        if f.input == "file":
            if isinstance(value, bytes) and value:
                if len(value) > MAX_FILE:
                    raise SettingsError(f.name, _l("The file is too large (64 KB at most)."))
                cleaned[f.name] = base64.b64encode(value).decode()
            elif isinstance(value, str) and value:
                cleaned[f.name] = value  # already stored (base64)
            elif f.required:
                raise SettingsError(f.name, _l("Choose a file."))
            continue
        text = ("" if value is None else str(value)).strip()
        if not text:
            if f.required:
                raise SettingsError(f.name, _l("This field is required."))
            continue
        if len(text) > MAX_TEXT * (8 if f.input == "lines" else 1):
            raise SettingsError(f.name, _l("This value is too long."))
        if f.input == "int":
            try:
                number = int(text)
            except ValueError:
                raise SettingsError(f.name, _l("Enter a whole number.")) from None
            if f.bounds and not f.bounds[0] <= number <= f.bounds[1]:
                raise SettingsError(
                    f.name,
                    _l(
                        "Enter a number from %(low)d to %(high)d.",
                        low=f.bounds[0],
                        high=f.bounds[1],
                    ),  # fmt: skip
                )
            cleaned[f.name] = number
        elif f.input == "choice":
            if text not in {key for key, _label in f.choices}:
                raise SettingsError(f.name, _l("Choose one of the options."))
            cleaned[f.name] = text
        elif f.input == "lines":
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            cleaned[f.name] = lines
        else:
            cleaned[f.name] = text
    _check_kind(spec, {**{name: True for name in kept}, **cleaned})
    return cleaned


def _check_kind(spec: KindSpec, values: dict[str, Any]) -> None:
    kind = spec.kind
    if kind == Kind.PER_APP_VPN:
        for bundle in values.get("apps", []):
            if not BUNDLE_ID.fullmatch(bundle):
                raise SettingsError("apps", _l("“%(value)s” is not a bundle ID.", value=bundle))
        if values.get("auth") == "SharedSecret" and not values.get("shared_secret"):
            raise SettingsError("shared_secret", _l("Give the shared secret."))
    if kind == Kind.WIFI:
        if values.get("encryption") not in (None, "None") and not values.get("password"):
            raise SettingsError("password", _l("Give the network's password."))
        if values.get("proxy") == "Manual" and not values.get("proxy_server"):
            raise SettingsError("proxy_server", _l("Give the proxy server."))
    if kind == Kind.WEBCLIP and not re.match(r"https?://", values.get("url", "")):
        raise SettingsError("url", _l("Give an address starting with https://."))
    if kind == Kind.SCEP and not re.match(r"https?://", values.get("url", "")):
        raise SettingsError("url", _l("Give an address starting with https://."))
    if kind == Kind.PKCS12 and isinstance(values.get("file"), str):
        try:
            base64.b64decode(values["file"], validate=True)
        except (binascii.Error, ValueError):
            raise SettingsError("file", _l("Choose a file.")) from None
    if kind == Kind.APP_CONFIG:
        if not BUNDLE_ID.fullmatch(values.get("bundle_id", "")):
            raise SettingsError(
                "bundle_id", _l("Give the app's bundle ID, such as com.example.app.")
            )
        app_configuration(values.get("values", []))
    if kind == Kind.PASSCODE:
        if not any(values.get(f.name) not in (None, False) for f in spec.fields):
            raise SettingsError("forcePIN", _l("Set at least one passcode rule."))


def _typed(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?[0-9]{1,18}", text):
        return int(text)
    return text


def app_configuration(lines: list[str]) -> dict[str, Any]:
    """An app's managed configuration from key=value lines (true/false and numbers typed)."""
    result: dict[str, Any] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SettingsError("values", _l("Write each setting as key=value: “%(line)s”.",
                                             line=line))  # fmt: skip
        result[key] = _typed(value.strip())
    return result
