"""Secret settings (passwords, certificate files' passphrases) sealed for storage."""

from __future__ import annotations

from typing import Any

from ..apple import secrets as secret_box
from ..models import (
    Configuration,
)

SECRET_PREFIX = "enc:"  # noqa: S105 (a marker, not a secret)


def is_secret(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SECRET_PREFIX)


def seal(secret_key: str, value: str) -> str:
    return SECRET_PREFIX + secret_box.encrypt(secret_key, value.encode())


def open_secrets(secret_key: str, configuration: Configuration) -> dict[str, str]:
    """The configuration's secret fields, decrypted (unreadable ones left out)."""
    result = {}
    for name, value in (configuration.settings or {}).items():
        if is_secret(value):
            try:
                result[name] = secret_box.decrypt(secret_key, value[len(SECRET_PREFIX) :]).decode()
            except secret_box.SecretUnreadable:
                continue
    return result
