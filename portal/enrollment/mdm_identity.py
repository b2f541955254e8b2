"""The MDM configuration that profiles and device endpoints need, and the material it
yields: the push topic, the certificate authority for device identities, and the identity
that signs profiles (configured, or made under instance/ for development)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ..config import private_directory
from . import pki
from .profiles import TOPIC_PREFIX

TOPIC_FILE = "mdm_push_topic"
PKI_DIRECTORY = "pki"
DEVELOPMENT_TOPIC_PREFIX = "com.apple.mgmt.External."


class ProfileUnavailable(Exception):
    """The portal cannot make profiles until an administrator fixes its configuration."""


@dataclass(frozen=True)
class MDMSettings:
    """What profiles and MDM endpoints need from the configuration."""

    public_base_url: str
    instance_path: Path
    organization: str
    production: bool
    push_topic: str = ""
    use_development_apns: bool = False
    ca_cert: str = ""
    ca_key: str = ""
    signing_cert: str = ""
    signing_key: str = ""
    identifier_prefix: str = ""
    enroll_token_minutes: int = 15
    access_token_days: int = 180
    languages: tuple[str, ...] = ("en",)
    # Encrypts what devices hand over (unlock and bootstrap tokens), as portal.apple.secrets.
    secret_key: str = field(default="", repr=False)
    # Ask a device for its facts as soon as it enrolls (portal.mdm.facts).
    device_facts: bool = True
    # A profile downloaded again within this time carries the same check-in secret.
    profile_reuse_hours: int = 24
    max_devices_per_user: int = 0

    @classmethod
    def from_config(cls, config: Mapping) -> MDMSettings:
        return cls(
            public_base_url=str(config["PUBLIC_BASE_URL"]).rstrip("/"),
            instance_path=Path(config["INSTANCE_PATH"]),
            organization=config.get("ORG_NAME") or "Example Corp",
            production=config.get("PORTAL_ENV") == "production",
            push_topic=config.get("MDM_PUSH_TOPIC", ""),
            use_development_apns=bool(config.get("MDM_USE_DEVELOPMENT_APNS")),
            ca_cert=config.get("MDM_CA_CERT", ""),
            ca_key=config.get("MDM_CA_KEY", ""),
            signing_cert=config.get("PROFILE_SIGNING_CERT", ""),
            signing_key=config.get("PROFILE_SIGNING_KEY", ""),
            identifier_prefix=config.get("MDM_PROFILE_IDENTIFIER", ""),
            enroll_token_minutes=int(config.get("MDM_ENROLL_TOKEN_MINUTES", 15)),
            access_token_days=int(config.get("MDM_ACCESS_TOKEN_DAYS", 180)),
            languages=tuple(config.get("LANGUAGES") or ("en",)),
            secret_key=str(config.get("SECRET_KEY") or ""),
            device_facts=bool(config.get("MDM_DEVICE_FACTS", True)),
            profile_reuse_hours=int(config.get("MDM_PROFILE_REUSE_HOURS", 24)),
            max_devices_per_user=int(config.get("MAX_DEVICES_PER_USER", 0) or 0),
        )

    def url(self, path: str) -> str:
        return self.public_base_url + path

    @property
    def pki_directory(self) -> Path:
        return self.instance_path / PKI_DIRECTORY

    @property
    def profile_prefix(self) -> str:
        """Reverse DNS of PUBLIC_BASE_URL's host (mdm.example.com → com.example.mdm)."""
        if self.identifier_prefix:
            return self.identifier_prefix
        host = (urlsplit(self.public_base_url).hostname or "localhost").strip(".")
        labels = [label for label in reversed(host.split(".")) if label]
        if len(labels) < 2:
            labels = ["local", *labels]
        return ".".join(labels)


# --- configuration-backed material -------------------------------------------------------


def push_topic(settings: MDMSettings) -> str:
    """The uploaded push certificate's topic, else MDM_PUSH_TOPIC, else (development) a
    made-up topic kept under instance/."""
    from ..apple.push_cert import current_topic

    uploaded = current_topic()
    if uploaded:
        return uploaded
    if settings.push_topic:
        if not settings.push_topic.startswith(TOPIC_PREFIX):
            raise ProfileUnavailable(f"MDM_PUSH_TOPIC must start with {TOPIC_PREFIX!r}")
        return settings.push_topic
    if settings.production:
        raise ProfileUnavailable(
            "MDM_PUSH_TOPIC is not set: give the topic (UID) of the APNs MDM push certificate"
        )
    path = settings.instance_path / TOPIC_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    private_directory(settings.instance_path)
    topic = DEVELOPMENT_TOPIC_PREFIX + str(uuid.uuid4())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()  # another worker won the race
    with os.fdopen(fd, "w") as handle:
        handle.write(topic + "\n")
    return topic


def certificate_authority(settings: MDMSettings) -> pki.CertificateAuthority:
    """The CA that issues device identities: configured, or created under instance/pki/."""
    if bool(settings.ca_cert) != bool(settings.ca_key):
        raise ProfileUnavailable("set both MDM_CA_CERT and MDM_CA_KEY, or neither")
    if settings.ca_cert:
        try:
            cert, key, _chain = pki.load_signing_identity(
                Path(settings.ca_cert), Path(settings.ca_key)
            )
        except pki.PKIError as exc:
            raise ProfileUnavailable(f"MDM_CA_CERT/MDM_CA_KEY: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ProfileUnavailable("MDM_CA_KEY must be an RSA key")
        try:
            cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound as exc:
            raise ProfileUnavailable("MDM_CA_CERT needs a Subject Key Identifier") from exc
        return pki.CertificateAuthority(certificate=cert, private_key=key)
    try:
        return pki.load_or_create_ca(settings.pki_directory, f"{settings.organization} MDM CA")
    except pki.PKIError as exc:
        raise ProfileUnavailable(f"the CA under {settings.pki_directory}: {exc}") from exc


def signing_identity(settings: MDMSettings, ca: pki.CertificateAuthority):
    """(certificate, key, chain) that signs profiles: configured, or made from the CA."""
    if bool(settings.signing_cert) != bool(settings.signing_key):
        raise ProfileUnavailable(
            "set both PROFILE_SIGNING_CERT and PROFILE_SIGNING_KEY, or neither"
        )
    try:
        if settings.signing_cert:
            return pki.load_signing_identity(
                Path(settings.signing_cert), Path(settings.signing_key)
            )
        cert, key = pki.load_or_create_signing_identity(
            settings.pki_directory, ca, f"{settings.organization} profile signing"
        )
    except pki.PKIError as exc:
        raise ProfileUnavailable(f"profile signing certificate: {exc}") from exc
    return cert, key, [ca.certificate]
