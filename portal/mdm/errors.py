"""Why the portal refuses a device's request: one exception per answer, with a reason code.

The reason code (e.g. ``topic_mismatch``) goes into the audit event of the refusal; it
never carries tokens, secrets or Managed Apple IDs.
"""

from __future__ import annotations

from ..models import Device


class MDMRefusal(Exception):
    """A device request the portal refuses; nothing it asked for is changed."""

    status = 400
    # Some refusals are an ordinary step of the protocol, not worth an audit event.
    audited = True

    def __init__(self, reason: str, *, device: Device | None = None, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.device = device
        self.detail = detail


class Malformed(MDMRefusal):
    """The body is not a message the protocol allows here."""

    status = 400


class Unauthenticated(MDMRefusal):
    """No credential, or one the portal does not know."""

    status = 401


class Forbidden(MDMRefusal):
    """A known credential that no longer binds (revoked, expired, unenrolled, mismatched)."""

    status = 403


class Conflict(MDMRefusal):
    """The message does not fit the enrollment's current state."""

    status = 409


class Declined(MDMRefusal):
    """A message the portal does not support, answered as Apple expects (410)."""

    status = 410
    audited = False


class TooLarge(MDMRefusal):
    status = 413


class UnsupportedMediaType(MDMRefusal):
    status = 415
