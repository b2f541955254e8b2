"""Masking of personal identifiers shown to admins, helpdesk, Slack and logs."""

from __future__ import annotations


def mask_apple_id(value: str | None) -> str:
    """`jane.doe@appleid.example.com` → `ja***@appleid.example.com`."""
    if not value:
        return ""
    local, sep, domain = value.partition("@")
    if not sep:
        return local[:2] + "***"
    return f"{local[:2]}***@{domain}"


MASKED_KEYS = frozenset({"managed_apple_id", "managed_apple_id_conflict"})


def mask_record(record: dict | None) -> dict | None:
    """A copy of `record` with Managed Apple IDs masked (for audit events and logs)."""
    if record is None:
        return None
    return {k: mask_apple_id(v) if k in MASKED_KEYS and v else v for k, v in record.items()}
