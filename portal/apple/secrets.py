"""Encrypting the secrets Apple setup keeps in the database (keys, location token).

Why the database and not instance/: every worker and host sees the same push key, it is
backed up with the rest of the setup, and a database dump alone does not reveal it. The
encryption key derives from SECRET_KEY; changing SECRET_KEY makes them unreadable (the setup
page then asks for a new signing request).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"byod-portal apple setup secrets v1"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (SECRET_KEY changed since it was stored)."""


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(secret_key: str, data: bytes) -> str:
    return _fernet(secret_key).encrypt(data).decode("ascii")


def decrypt(secret_key: str, token: str) -> bytes:
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable from exc
