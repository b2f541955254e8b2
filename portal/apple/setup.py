"""The Apple setup checklist, Apple Business Manager linking, and setup warnings.

`checklist(org)` is what the setup page shows; `warnings(org)` feeds /healthz and the admin
notifications (certificates and tokens that expire soon or have expired).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..enrollment import policy
from ..enrollment import service as enrollment
from ..extensions import db
from ..models import LocationToken, Organization, PushCertificate, User
from . import push_cert, vpp_token

WARN_BEFORE = timedelta(days=30)


class SetupError(Exception):
    """Bad input for a setup change; the message says why."""


@dataclass(frozen=True)
class Notice:
    """A warning for admins: `code` is stable, `message` in the current language."""

    code: str
    message: str
    endpoint: str = "apple.setup_page"
    severity: str = "warning"  # "warning" | "error"


@dataclass
class Checklist:
    push: PushCertificate | None
    token: LocationToken | None
    org: Organization
    push_done: bool
    abm_done: bool
    token_done: bool
    # The enrollment policy's criterion 4 (ABM linked, token of the same organization).
    criterion_reason: str | None
    notices: list[Notice] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.push_done and self.abm_done and self.token_done and not self.criterion_reason


def _days_left(when: datetime, now: datetime) -> int:
    """Whole days left, rounded up (11.9 days left is "12 days")."""
    return max(0, -((now - when) // timedelta(days=1)))


def warnings(org: Organization | None, now: datetime | None = None) -> list[Notice]:
    """Expired or soon-expiring push certificate and location token."""
    push = push_cert.record()
    not_after = push.not_after if push is not None and push.certificate_pem else None
    token = vpp_token.record() if org is not None else None
    return expiry_notices(not_after, token.expires_at if token is not None else None, now)


def expiry_notices(
    push_not_after: datetime | None,
    token_expires_at: datetime | None,
    now: datetime | None = None,
) -> list[Notice]:
    """The notices for an uploaded push certificate and location token ending at these dates."""
    now = now or datetime.now(UTC)
    notices: list[Notice] = []
    if push_not_after is not None:
        if push_not_after <= now:
            notices.append(
                Notice(
                    "push_certificate_expired",
                    _("The MDM push certificate has expired: devices no longer get pushes."),
                    severity="error",
                )
            )
        elif push_not_after - now <= WARN_BEFORE:
            days = _days_left(push_not_after, now)
            notices.append(
                Notice(
                    "push_certificate_expiring",
                    _("The MDM push certificate expires in %(days)d days.", days=days),
                )
            )
    expires = token_expires_at
    if expires:
        if expires <= now:
            notices.append(
                Notice(
                    "vpp_token_expired",
                    _("The Apps and Books location token has expired."),
                    severity="error",
                )
            )
        elif expires - now <= WARN_BEFORE:
            notices.append(
                Notice(
                    "vpp_token_expiring",
                    _(
                        "The Apps and Books location token expires in %(days)d days.",
                        days=_days_left(expires, now),
                    ),
                )
            )
    return notices


def notices(now: datetime | None = None) -> list[Notice]:
    """`warnings` for the portal's organization (none when there is no organization)."""
    org = db.session.scalar(sa.select(Organization).order_by(Organization.id).limit(1))
    return warnings(org, now)


def checklist(org: Organization, locale: str = "en", now: datetime | None = None) -> Checklist:
    now = now or datetime.now(UTC)
    push = push_cert.record()
    token = vpp_token.record()
    reason = policy.org_reason(enrollment.org_facts(org))
    push_ok = bool(push and push.certificate_pem and push.not_after and push.not_after > now)
    # Done only with a token file uploaded (the Apps page and Apple's service need it).
    token_ok = bool(
        token is not None
        and token.token
        and org.vpp_token_organization
        and (token.expires_at is None or token.expires_at > now)
    )
    return Checklist(
        push=push,
        token=token,
        org=org,
        push_done=push_ok,
        abm_done=bool(org.abm_linked and org.abm_organization_name),
        token_done=token_ok,
        criterion_reason=reason.message(locale) if reason else None,
        notices=warnings(org, now),
    )


def _abm_summary(org: Organization) -> dict:
    return {
        "linked": bool(org.abm_linked),
        "organization_name": org.abm_organization_name,
        "organization_id": org.abm_organization_id,
    }


def link_abm(actor: User, org: Organization, *, name: str, organization_id: str) -> None:
    """Record the Apple Business Manager organization as linked; the caller commits.

    :raise SetupError: a blank or too long name or ID.
    """
    name, organization_id = (name or "").strip(), (organization_id or "").strip()
    if not name or len(name) > 200:
        raise SetupError(_("Give the organization's name as Apple Business Manager shows it."))
    if not organization_id or len(organization_id) > 100:
        raise SetupError(_("Give the organization ID shown in Apple Business Manager."))
    before = _abm_summary(org)
    org.abm_linked = True
    org.abm_organization_name = name
    org.abm_organization_id = organization_id
    audit.record(actor, "apple.abm.linked", target=org, before=before, after=_abm_summary(org))


def unlink_abm(actor: User, org: Organization) -> None:
    before = _abm_summary(org)
    org.abm_linked = False
    org.abm_organization_name = None
    org.abm_organization_id = None
    audit.record(actor, "apple.abm.unlinked", target=org, before=before, after=_abm_summary(org))
