"""People stuck on their way to enrollment, why, and resending to many at once.

A person is stuck when they are active, hold no enrolled device, their newest invitation was
not withdrawn, and one of these holds (the first that does is their reason):

- ``conflict``: another account holds the Managed Apple ID they should have;
- ``fallback``: their setting says User Enrollment but their last recorded decision was
  Device Enrollment for a reason an admin can fix (no Managed Apple ID, the directory's
  device role, Apple Business Manager or the Apps & Books token's organization);
- ``started``: a device started enrolling more than `started_hours` ago and never finished;
- ``expired``: their newest invitation expired unused;
- ``waiting``: invited more than `waiting_days` days ago, nothing since.

Bulk resends run as a `BulkJob` a slice at a time (each slice one transaction), so the page
can show progress; each resend goes through `invitations.service.invite`, with its rate
limit and its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..domain import DomainError
from ..extensions import db
from ..invitations import service as invitations
from ..models import (
    BulkJob,
    Device,
    DeviceStatus,
    EnrollmentDecision,
    EnrollmentType,
    Invitation,
    User,
    group_membership,
    utcnow,
)
from .cohort import default_type, expected_types, without_jit

REASONS = ("conflict", "fallback", "started", "expired", "waiting")
REASON_LABELS = {
    "conflict": _l("Managed Apple ID conflict"),
    "fallback": _l("Fell back to Device Enrollment"),
    "started": _l("Enrollment started, not finished"),
    "expired": _l("Link expired"),
    "waiting": _l("Invited, nothing since"),
}
# Decision reasons an admin can fix (SPEC §1 criteria 4–6).
FIXABLE_CODES = (
    "no_managed_apple_id",
    "ldap_without_device_role",
    "abm_not_linked",
    "vpp_token_missing",
    "abm_organization_unknown",
    "vpp_token_other_organization",
)
ORG_CODES = frozenset(FIXABLE_CODES[2:])
CODE_LABELS = {
    "no_managed_apple_id": _l("No Managed Apple ID"),
    "ldap_without_device_role": _l("No device-management role in the directory"),
    "abm_not_linked": _l("Apple Business Manager not linked"),
    "vpp_token_missing": _l("No Apps and Books token"),
    "abm_organization_unknown": _l("Apple Business Manager organization unknown"),
    "vpp_token_other_organization": _l(
        "Apps and Books token of another organization than Apple Business Manager"
    ),
}
PENDING = (DeviceStatus.INVITED, DeviceStatus.PROFILE_DOWNLOADED, DeviceStatus.AUTHENTICATED)
BULK_SLICE = 25
BULK_MAX = 5000


@dataclass(frozen=True)
class StuckSettings:
    waiting_days: int = 3
    started_hours: int = 24

    @classmethod
    def from_config(cls, config) -> StuckSettings:
        return cls(
            waiting_days=max(int(config.get("ROLLOUT_STUCK_DAYS", cls.waiting_days)), 0),
            started_hours=max(int(config.get("ENROLLMENT_PENDING_HOURS", cls.started_hours)), 1),
        )


def _newest(model) -> sa.Subquery:
    """Each person's newest row of `model` (the highest id: rows are only ever appended)."""
    newest = sa.select(sa.func.max(model.id).label("id")).group_by(model.user_id).subquery()
    return sa.select(model).join(newest, newest.c.id == model.id).subquery()


def stuck_rows(
    *, now: datetime, settings: StuckSettings, group_id: int | None = None
) -> sa.Subquery:
    """(user_id, reason, invited_at, expires_at, codes) of every person who may be stuck;
    `reason` is None for those who are not."""
    without_jit()
    latest = _newest(Invitation)
    decision = _newest(EnrollmentDecision)
    expected = expected_types()
    devices = (
        sa.select(
            Device.user_id.label("user_id"),
            sa.func.max(sa.case((Device.status == DeviceStatus.ENROLLED, 1), else_=0)).label(
                "enrolled"
            ),
            sa.func.min(sa.case((Device.status.in_(PENDING), Device.created_at))).label(
                "oldest_pending"
            ),
        )
        .group_by(Device.user_id)
        .subquery("devices")
    )
    enrolled = sa.func.coalesce(devices.c.enrolled, 0) == 1
    stale_start = devices.c.oldest_pending <= now - timedelta(hours=settings.started_hours)
    codes = sa.cast(decision.c.reason_codes, sa.Text)
    fixable = sa.or_(*(codes.like(f'%"{code}"%') for code in FIXABLE_CODES))
    expects_user = (
        sa.func.coalesce(expected.c.enrollment_type, default_type()) == EnrollmentType.USER.value
    )
    why = sa.case(
        (User.managed_apple_id_conflict.is_not(None), "conflict"),
        (
            sa.and_(
                decision.c.enrollment_type == EnrollmentType.DEVICE.value, expects_user, fixable
            ),
            "fallback",
        ),
        (stale_start, "started"),
        (sa.and_(latest.c.used_at.is_(None), latest.c.expires_at <= now), "expired"),
        (latest.c.created_at <= now - timedelta(days=settings.waiting_days), "waiting"),
        else_=None,
    ).label("reason")
    inner = (
        sa.select(
            User.id.label("user_id"),
            why,
            latest.c.created_at.label("invited_at"),
            latest.c.expires_at.label("expires_at"),
            decision.c.reason_codes.label("codes"),
        )
        .join(latest, latest.c.user_id == User.id)
        .outerjoin(decision, decision.c.user_id == User.id)
        .outerjoin(expected, expected.c.user_id == User.id)
        .outerjoin(devices, devices.c.user_id == User.id)
        .where(User.active.is_(True), latest.c.revoked_at.is_(None), ~enrolled)
    )
    if group_id is not None:
        inner = inner.where(
            User.id.in_(
                sa.select(group_membership.c.user_id).where(group_membership.c.group_id == group_id)
            )
        )
    return inner.subquery("stuck")


def stuck_query(
    *,
    now: datetime,
    settings: StuckSettings,
    reason: str | None = None,
    group_id: int | None = None,
) -> sa.Select:
    """(User, reason, invited_at, expires_at, decision_codes) of every stuck person."""
    rows = stuck_rows(now=now, settings=settings, group_id=group_id)
    query = (
        sa.select(User, rows.c.reason, rows.c.invited_at, rows.c.expires_at, rows.c.codes)
        .join(rows, rows.c.user_id == User.id)
        .where(rows.c.reason.is_not(None))
        .order_by(rows.c.invited_at, User.id)
    )
    if reason:
        query = query.where(rows.c.reason == reason)
    return query


def stuck_page(
    *,
    now: datetime,
    settings: StuckSettings,
    reason: str | None = None,
    group_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[tuple], dict[str, int]]:
    """One page of `stuck_query`'s rows and how many people are stuck for each reason.

    The stuck people are a common table expression read twice in one statement (PostgreSQL
    computes it once): counted by reason, and the page of them; the page's accounts are then
    loaded by id.
    """
    rows = stuck_rows(now=now, settings=settings, group_id=group_id)
    stuck = sa.select(rows).where(rows.c.reason.is_not(None)).cte("stuck")
    listed = sa.select(stuck)
    if reason:
        listed = listed.where(stuck.c.reason == reason)
    listed = (
        listed.order_by(stuck.c.invited_at, stuck.c.user_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("listed")
    )
    both = sa.union_all(
        sa.select(
            sa.literal("row").label("kind"),
            listed.c.reason,
            listed.c.user_id,
            listed.c.invited_at,
            listed.c.expires_at,
            listed.c.codes,
            sa.literal(0).label("n"),
        ),
        sa.select(
            sa.literal("count"),
            stuck.c.reason,
            sa.null(),
            sa.null(),
            sa.null(),
            sa.null(),
            sa.func.count(),
        ).group_by(stuck.c.reason),
    )
    counts = dict.fromkeys(REASONS, 0)
    found = []
    for kind, why, user_id, invited_at, expires_at, codes, n in db.session.execute(both):
        if kind == "count":
            counts[str(why)] = int(n)
        else:
            found.append((user_id, why, invited_at, expires_at, codes))
    ids = [row[0] for row in found]
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}
    found.sort(key=lambda row: (row[2], row[0]))
    return [(users[uid], *rest) for uid, *rest in found if uid in users], counts


def fixable_codes(codes) -> list[str]:
    return [c for c in (codes or []) if c in FIXABLE_CODES]


# -- bulk resend -----------------------------------------------------------------------------


class BulkError(DomainError):
    status = 400
    default_message = _l("That bulk resend cannot be started.")


def start_resend(actor: User, user_ids: list[int], *, now: datetime | None = None) -> BulkJob:
    """A bulk resend of `user_ids` (distinct, in order), to be worked by `work`. Caller commits."""
    ids = list(dict.fromkeys(int(i) for i in user_ids))
    if not ids:
        raise BulkError(_l("Select at least one person."))
    if len(ids) > BULK_MAX:
        raise BulkError(_l("At most %(n)s people at a time.", n=BULK_MAX))
    job = BulkJob(kind="resend", actor_id=actor.id, user_ids=ids, created_at=now or utcnow())
    db.session.add(job)
    db.session.flush()
    audit.record(actor, "rollout.bulk_resend_started", target=job, after={"people": len(ids)})
    return job


def work(
    job_id: int,
    *,
    actor: User,
    settings: invitations.InvitationSettings,
    now: datetime | None = None,
    slice_size: int = BULK_SLICE,
) -> BulkJob:
    """Resend to the next slice of the job's people; commits. Safe to call twice at once."""
    job = db.session.scalar(sa.select(BulkJob).where(BulkJob.id == job_id).with_for_update())
    if job is None or job.finished_at is not None:
        db.session.rollback()
        return job
    now = now or utcnow()
    ids = job.user_ids[job.done : job.done + slice_size]
    results = list(job.results)
    sent_by = invitations.sender_for(actor)
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}
    for user_id in ids:
        user = people.get(user_id)
        outcome = {"user_id": user_id, "outcome": "sent", "detail": None}
        if user is None:
            outcome["outcome"] = "missing"
        else:
            outcome["name"] = user.display_name or user.email
            try:
                with db.session.begin_nested():
                    invitations.invite(
                        user,
                        actor=actor,
                        sent_by=sent_by,
                        channel="web",
                        now=now,
                        settings=settings,
                    )
            except invitations.ResendLimitReached as exc:
                outcome["outcome"] = "rate_limited"
                outcome["detail"] = exc.next_possible_at.isoformat()
            except invitations.UserCannotBeInvited:
                outcome["outcome"] = "not_invitable"
        results.append(outcome)
    job.results = results
    job.done += len(ids)
    if job.done >= len(job.user_ids):
        job.finished_at = now
        audit.record(actor, "rollout.bulk_resend_finished", target=job, after=summary(job))
    db.session.commit()
    return job


def summary(job: BulkJob) -> dict[str, int]:
    counts = {"sent": 0, "rate_limited": 0, "not_invitable": 0, "missing": 0}
    for result in job.results:
        counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
    return counts
