"""A throwaway MDM CA and profile signing certificate, given to the app by configuration."""

from __future__ import annotations

from pathlib import Path

from portal.enrollment import pki


def signing_config(directory: Path) -> dict[str, str]:
    """Make a CA and a signing identity in `directory` (RSA keys are slow: make them once
    per session) and return the settings that point the app at them."""
    ca = pki.load_or_create_ca(directory, "Test MDM CA")
    pki.load_or_create_signing_identity(directory, ca, "Test profile signing")
    return {
        "MDM_CA_CERT": str(directory / pki.CA_CERT_FILE),
        "MDM_CA_KEY": str(directory / pki.CA_KEY_FILE),
        "PROFILE_SIGNING_CERT": str(directory / pki.SIGNING_CERT_FILE),
        "PROFILE_SIGNING_KEY": str(directory / pki.SIGNING_KEY_FILE),
    }
