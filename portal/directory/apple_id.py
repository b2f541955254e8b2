"""Managed Apple IDs derived by the organization's scheme."""

from __future__ import annotations

from ..models import AppleIdScheme


class AppleIdError(ValueError):
    """No Managed Apple ID can be derived (the source attribute is missing or malformed)."""


def derive(*, email: str | None, upn: str | None, scheme: AppleIdScheme, subdomain: bool) -> str:
    """`jane@example.com` → `jane@example.com`, or `jane@appleid.example.com` with `subdomain`."""
    source = email if scheme == AppleIdScheme.EMAIL else upn
    if not source:
        raise AppleIdError(f"the account has no {scheme.value} to derive a Managed Apple ID from")
    local, sep, domain = source.strip().lower().partition("@")
    if not sep or not local or "." not in domain or "@" in domain:
        raise AppleIdError(f"{source!r} is not an address a Managed Apple ID can be made from")
    if subdomain and not domain.startswith("appleid."):
        domain = "appleid." + domain
    return f"{local}@{domain}"
