"""The people behind the rollout's numbers: one row per person invited in a period.

The people counted are those sent an invitation in the period (their first one in it is
their "invited" moment). Each is at the furthest stage they reached since then:

    invited → link opened → signed in → enrollment started → enrolled

An account-driven enrollment never opens the e-mail's link, so a stage counts everyone who
reached it *or any later one*: the numbers only ever go down along the funnel. "Signed in"
is a portal session, a used link or an account-driven sign-in on the device; "started" is a
profile downloaded or an account-driven sign-in; "enrolled" is a device enrolled.

The enrollment type of a person is their newest device's, else the type their effective
setting gives (the same rule as `enrollment.service.effective_setting`).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import (
    Device,
    EnrollmentSetting,
    EnrollmentType,
    Invitation,
    MDMAccessToken,
    User,
    UserSession,
    group_membership,
    setting_assignment,
)
from .filters import FilterError, RolloutFilter

STAGES = ("invited", "opened", "signed_in", "started", "enrolled")
STAGE_LABELS = {
    "invited": _l("Invited"),
    "opened": _l("Link opened"),
    "signed_in": _l("Signed in"),
    "started": _l("Profile downloaded or account-driven started"),
    "enrolled": _l("Enrolled"),
}


def default_type() -> str:
    kind = db.session.scalar(
        sa.select(EnrollmentSetting.enrollment_type)
        .where(EnrollmentSetting.is_default.is_(True))
        .order_by(EnrollmentSetting.priority, EnrollmentSetting.id)
        .limit(1)
    )
    return EnrollmentType(kind).value if kind is not None else EnrollmentType.DEVICE.value


# A setting's place in the priority order as one number (lower wins): priority, then id.
_RANK_BASE = 1_000_000_000


def expected_types() -> sa.Subquery:
    """(user_id, enrollment_type) of the setting that applies to each person in a group.

    The winner is the lowest (priority, id) among the settings of the person's groups (the
    group-name tie-break of `effective_setting` only picks between groups holding the same
    setting, so it never changes the type). One hash aggregate, no per-person sort.
    """
    rank = sa.cast(EnrollmentSetting.priority, sa.BigInteger) * _RANK_BASE + EnrollmentSetting.id
    best = (
        sa.select(group_membership.c.user_id.label("user_id"), sa.func.min(rank).label("rank"))
        .join(setting_assignment, setting_assignment.c.group_id == group_membership.c.group_id)
        .join(EnrollmentSetting, EnrollmentSetting.id == setting_assignment.c.setting_id)
        .group_by(group_membership.c.user_id)
        .subquery("best_setting")
    )
    winner = sa.orm.aliased(EnrollmentSetting, name="winning_setting")
    return (
        sa.select(best.c.user_id, winner.enrollment_type.label("enrollment_type"))
        .join(winner, winner.id == best.c.rank % _RANK_BASE)
        .subquery("expected_type")
    )


def _latest_per_user(column) -> sa.Subquery:
    """(user_id, latest) of one table, for joining to the cohort."""
    table = column.class_
    return (
        sa.select(table.user_id.label("user_id"), sa.func.max(column).label("latest"))
        .group_by(table.user_id)
        .subquery()
    )


def people_query(filters: RolloutFilter) -> sa.Subquery:
    """One row per person invited in the period: user_id, invited_at, stage (0–4), type.

    Each table is read once and aggregated per person (the latest moment of each event),
    then joined to the cohort: "an event since the invitation" is "its latest moment is not
    before the invitation".
    """
    in_period = sa.and_(
        Invitation.created_at >= filters.since, Invitation.created_at < filters.until
    )
    opened_or_used = sa.or_(Invitation.opened_at.is_not(None), Invitation.used_at.is_not(None))
    invitations = (
        sa.select(
            Invitation.user_id.label("user_id"),
            sa.func.min(sa.case((in_period, Invitation.created_at))).label("invited_at"),
            sa.func.max(sa.case((opened_or_used, Invitation.created_at))).label("opened"),
            sa.func.max(sa.case((Invitation.used_at.is_not(None), Invitation.created_at))).label(
                "used"
            ),
        )
        .where(Invitation.created_at >= filters.since)
        .group_by(Invitation.user_id)
        .subquery("cohort")
    )
    devices = (
        sa.select(
            Device.user_id.label("user_id"),
            sa.func.max(Device.id).label("newest"),
            sa.func.max(Device.created_at).label("created"),
            sa.func.max(Device.enrolled_at).label("enrolled"),
            sa.func.min(Device.enrolled_at).label("first_enrolled"),
        )
        .group_by(Device.user_id)
        .subquery("devices")
    )
    newest_device = sa.orm.aliased(Device, name="newest_device")
    sessions = _latest_per_user(UserSession.created_at)
    tokens = _latest_per_user(MDMAccessToken.created_at)
    uid, since = invitations.c.user_id, invitations.c.invited_at
    stage = sa.case(
        (devices.c.enrolled >= since, 4),
        (sa.or_(devices.c.created >= since, tokens.c.latest >= since), 3),
        (sa.or_(sessions.c.latest >= since, invitations.c.used >= since), 2),
        (invitations.c.opened >= since, 1),
        else_=0,
    )
    expected = expected_types()
    kind = sa.func.coalesce(
        newest_device.enrollment_type, expected.c.enrollment_type, default_type()
    )
    # The first enrollment since the invitation (looked up only when an earlier one exists).
    first_since = (
        sa.select(sa.func.min(Device.enrolled_at))
        .where(Device.user_id == uid, Device.enrolled_at >= since)
        .scalar_subquery()
    )
    enrolled_at = sa.case(
        (devices.c.first_enrolled >= since, devices.c.first_enrolled),
        (devices.c.enrolled >= since, first_since),
    )
    query = (
        sa.select(
            uid.label("user_id"),
            since.label("invited_at"),
            stage.label("stage"),
            kind.label("enrollment_type"),
            enrolled_at.label("enrolled_at"),
        )
        .select_from(invitations)
        .outerjoin(devices, devices.c.user_id == uid)
        .outerjoin(newest_device, newest_device.id == devices.c.newest)
        .outerjoin(sessions, sessions.c.user_id == uid)
        .outerjoin(tokens, tokens.c.user_id == uid)
        .outerjoin(expected, expected.c.user_id == uid)
        .where(since.is_not(None))
    )
    if filters.group_id is not None:
        query = query.where(
            uid.in_(
                sa.select(group_membership.c.user_id).where(
                    group_membership.c.group_id == filters.group_id
                )
            )
        )
    people = query.subquery("people")
    if filters.enrollment_type:
        people = (
            sa.select(people)
            .where(people.c.enrollment_type == filters.enrollment_type)
            .subquery("typed_people")
        )
    return people


def without_jit() -> None:
    """PostgreSQL's JIT compiles these aggregate queries for longer than they run: off, for
    this transaction only."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL jit = off"))


def people_at(
    filters: RolloutFilter, stage: str, *, exactly: bool = False, group_id: int | None = None
) -> sa.Select:
    """The people behind one count: reached `stage` (or stopped exactly there), by name.

    Selects (User, invited_at, stage, enrollment_type). `group_id` narrows to one group (a
    cell of the by-group table) on top of the filters.
    """
    if stage not in STAGES:
        raise FilterError(_l("Unknown stage."))
    k = STAGES.index(stage)
    without_jit()
    people = people_query(filters)
    query = (
        sa.select(User, people.c.invited_at, people.c.stage, people.c.enrollment_type)
        .join(people, people.c.user_id == User.id)
        .where(people.c.stage == k if exactly else people.c.stage >= k)
        .order_by(sa.func.lower(User.display_name), User.id)
    )
    if group_id is not None:
        query = query.where(
            User.id.in_(
                sa.select(group_membership.c.user_id).where(group_membership.c.group_id == group_id)
            )
        )
    return query
