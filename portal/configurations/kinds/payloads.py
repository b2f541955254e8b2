"""Stored settings turned into Apple's payloads (or the Settings command), with a person's
variables substituted."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any

from ...models import ConfigurationKind as Kind
from .cleaning import app_configuration
from .fields import (
    APP_VPN_MAPPING,
    Field,
)
from .specs import SPECS


def stable_uuid(identifier: str, part: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{identifier}:{part}")).upper()


def _substitute(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in variables.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, list):
        return [_substitute(item, variables) for item in value]
    return value


def _set(payload: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        payload = payload.setdefault(part, {})
    payload[parts[-1]] = value


def _payload_value(f: Field, value: Any) -> Any:
    if f.input == "file":
        return base64.b64decode(value)
    if f.input == "choice" and f.key.endswith(("Keysize", "Key Usage")):
        return int(value)
    if f.key == "PayloadContent.Subject":
        return [[[part.split("=", 1)[0].strip(), part.split("=", 1)[1].strip()]]
                for part in value.split(",") if "=" in part]  # fmt: skip
    return value


def build_payloads(
    kind: Kind,
    settings: Mapping[str, Any],
    *,
    identifier: str,
    version: int,
    platform: str,
    variables: Mapping[str, str],
    secrets: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Apple's payloads (without the profile around them) for these settings on `platform`.

    `secrets` holds the decrypted secret fields; `variables` the person's values for
    {email}, {name}, {managed_apple_id}.
    """
    spec = SPECS[Kind(kind)]
    values = {**settings, **(secrets or {})}
    main: dict[str, Any] = {}
    extra: dict[str, dict[str, Any]] = {}
    for f in spec.fields:
        if f.name not in values or values[f.name] in (None, "", []):
            continue
        value = _substitute(_payload_value(f, values[f.name]), variables)
        if f.payload_type != spec.payload_type:
            extra.setdefault(f.payload_type, {})[f.key] = value
        else:
            _set(main, f.key, value)
    if kind == Kind.WIFI:
        if main.get("EncryptionType") == "None":
            main.pop("Password", None)
        if main.get("ProxyType") == "None":
            for key in ("ProxyType", "ProxyServer", "ProxyServerPort"):
                main.pop(key, None)
    if kind == Kind.PER_APP_VPN:
        vpn_uuid = per_app_vpn_uuid(identifier)
        main["VPNUUID"] = vpn_uuid
        main["VPNType"] = "IKEv2"
        ike = main.setdefault("IKEv2", {})
        if ike.get("AuthenticationMethod") != "SharedSecret":
            ike.pop("SharedSecret", None)
        apps = extra.pop(APP_VPN_MAPPING, {}).get("AppLayerVPNMapping", [])
        if apps and platform == "macos":
            extra[APP_VPN_MAPPING] = {
                "AppLayerVPNMapping": [
                    {
                        "Identifier": bundle,
                        "SigningIdentifier": bundle,
                        "DesignatedRequirement": (
                            f'identifier "{bundle}" and anchor apple generic'
                        ),
                        "VPNUUID": vpn_uuid,
                    }
                    for bundle in apps
                ]
            }
    if kind == Kind.PASSCODE:
        main = {key: value for key, value in main.items() if value is not False or key in (
            "allowSimple",)}  # fmt: skip
    result = []
    for number, (payload_type, content) in enumerate([(spec.payload_type, main), *extra.items()]):
        result.append(
            {
                "PayloadType": payload_type,
                "PayloadVersion": 1,
                "PayloadIdentifier": f"{identifier}.{number}",
                "PayloadUUID": stable_uuid(identifier, f"{payload_type}:{version}"),
                **content,
            }
        )
    return result


def per_app_vpn_uuid(identifier: str) -> str:
    """The VPNUUID of the per-app VPN whose profile has `identifier`."""
    return stable_uuid(identifier, "vpn")


def app_vpn_attributes(identifier: str, bundles: list[str]) -> dict[str, Any]:
    """The Settings command (without RequestType) that routes these apps through the per-app
    VPN on an iPhone or iPad, where the app-mapping payload does not exist."""
    vpn_uuid = per_app_vpn_uuid(identifier)
    return {
        "Settings": [
            {"Item": "ApplicationAttributes", "Identifier": bundle,
             "Attributes": {"VPNUUID": vpn_uuid}}
            for bundle in bundles
        ]
    }  # fmt: skip


def settings_command(settings: Mapping[str, Any], *, variables: Mapping[str, str],
                     remove: bool = False) -> dict[str, Any]:  # fmt: skip
    """The Settings command (without RequestType) that applies or removes an app's managed
    configuration."""
    item: dict[str, Any] = {"Item": "ApplicationConfiguration", "Identifier": settings["bundle_id"]}
    if not remove:
        item["Configuration"] = _substitute(
            app_configuration(settings.get("values", [])), variables
        )
        item["Configuration"] = {
            key: _substitute(value, variables) for key, value in item["Configuration"].items()
        }
    return {"Settings": [item]}


def secret_fields(kind: Kind) -> list[str]:
    return [f.name for f in SPECS[Kind(kind)].fields if f.input == "secret"]


def conflict_key(kind: Kind, settings: Mapping[str, Any]) -> str:
    """What a configuration sets, to find two that set the same thing on one device."""
    spec = SPECS[Kind(kind)]
    if spec.conflict_field is None:
        return str(kind)
    value = str(settings.get(spec.conflict_field or "", "")).strip().casefold()
    return f"{kind}:{value}"
