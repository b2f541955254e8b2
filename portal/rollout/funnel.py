"""The rollout funnel: where everyone invited in a period stands (SPEC §6).

The people counted are those sent an invitation in the period (their first one in it is
their "invited" moment). Each is at the furthest stage they reached since then:

    invited → link opened → signed in → enrollment started → enrolled

An account-driven enrollment never opens the e-mail's link, so a stage counts everyone who
reached it *or any later one*: the numbers only ever go down along the funnel. "Signed in"
is a portal session, a used link or an account-driven sign-in on the device; "started" is a
profile downloaded or an account-driven sign-in; "enrolled" is a device enrolled.

The enrollment type of a person is their newest device's, else the type their effective
setting gives (the same rule as `enrollment.service.effective_setting`).

Everything is counted by the database in a few aggregate queries; the functions take plain
arguments and never read the request.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..domain import DomainError
from ..extensions import db
from ..models import (
    Device,
    EnrollmentSetting,
    EnrollmentType,
    Group,
    Invitation,
    MDMAccessToken,
    User,
    UserSession,
    group_membership,
    setting_assignment,
)

STAGES = ("invited", "opened", "signed_in", "started", "enrolled")
STAGE_LABELS = {
    "invited": _l("Invited"),
    "opened": _l("Link opened"),
    "signed_in": _l("Signed in"),
    "started": _l("Profile downloaded or account-driven started"),
    "enrolled": _l("Enrolled"),
}
TYPES = (EnrollmentType.USER.value, EnrollmentType.DEVICE.value, EnrollmentType.MAM.value)
DEFAULT_DAYS = 30
MAX_DAYS = 731
# Beyond this many days the chart counts weeks, not days.
DAILY_CHART_MAX_DAYS = 62


class FilterError(DomainError):
    status = 400
    default_message = _l("Those filters are not valid.")


@dataclass(frozen=True)
class RolloutFilter:
    """The period (whole UTC days, `start` to `end` inclusive), a group and a type."""

    start: date
    end: date
    group_id: int | None = None
    enrollment_type: str | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_args(self) -> dict:
        """The query-string arguments that give these filters back."""
        args = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.group_id is not None:
            args["group"] = self.group_id
        if self.enrollment_type:
            args["type"] = self.enrollment_type
        return args


def _date(value: str | None, default: date, what: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise FilterError(_l("The %(what)s date is not a date (YYYY-MM-DD).", what=what)) from exc


def parse_filter(args, *, today: date | None = None) -> RolloutFilter:
    """Filters from a query string (`from`, `to`, `group`, `type`); FilterError if wrong."""
    today = today or datetime.now(UTC).date()
    end = _date(args.get("to"), today, "end")
    start = _date(args.get("from"), end - timedelta(days=DEFAULT_DAYS - 1), "start")
    if start > end:
        raise FilterError(_l("The period starts after it ends."))
    if (end - start).days + 1 > MAX_DAYS:
        raise FilterError(_l("Choose a period of at most two years."))
    group_id = None
    raw_group = (args.get("group") or "").strip()
    if raw_group:
        if not raw_group.isdigit() or len(raw_group) > 12:
            raise FilterError(_l("That group does not exist (any more)."))
        group_id = int(raw_group)
        if db.session.get(Group, group_id) is None:
            raise FilterError(_l("That group does not exist (any more)."))
    kind = (args.get("type") or "").strip() or None
    if kind is not None and kind not in TYPES:
        raise FilterError(_l("Choose User Enrollment, Device Enrollment or app management."))
    return RolloutFilter(start, end, group_id, kind)


# -- the people behind the numbers -------------------------------------------------------------


def _default_type() -> str:
    kind = db.session.scalar(
        sa.select(EnrollmentSetting.enrollment_type)
        .where(EnrollmentSetting.is_default.is_(True))
        .order_by(EnrollmentSetting.priority, EnrollmentSetting.id)
        .limit(1)
    )
    return EnrollmentType(kind).value if kind is not None else EnrollmentType.DEVICE.value


def expected_types() -> sa.Subquery:
    """(user_id, enrollment_type) of the setting that applies to each person in a group."""
    ranked = (
        sa.select(
            group_membership.c.user_id.label("user_id"),
            EnrollmentSetting.enrollment_type.label("enrollment_type"),
            sa.func.row_number()
            .over(
                partition_by=group_membership.c.user_id,
                order_by=(EnrollmentSetting.priority, EnrollmentSetting.id, Group.name),
            )
            .label("rank"),
        )
        .join(setting_assignment, setting_assignment.c.group_id == group_membership.c.group_id)
        .join(EnrollmentSetting, EnrollmentSetting.id == setting_assignment.c.setting_id)
        .join(Group, Group.id == group_membership.c.group_id)
        .subquery("ranked_settings")
    )
    return (
        sa.select(ranked.c.user_id, ranked.c.enrollment_type)
        .where(ranked.c.rank == 1)
        .subquery("expected_type")
    )


def people_query(filters: RolloutFilter) -> sa.Subquery:
    """One row per person invited in the period: user_id, invited_at, stage (0–4), type."""
    cohort = (
        sa.select(
            Invitation.user_id.label("user_id"),
            sa.func.min(Invitation.created_at).label("invited_at"),
        )
        .where(Invitation.created_at >= filters.since, Invitation.created_at < filters.until)
        .group_by(Invitation.user_id)
        .subquery("cohort")
    )
    uid, since = cohort.c.user_id, cohort.c.invited_at
    later_invitation = sa.and_(Invitation.user_id == uid, Invitation.created_at >= since)
    opened = sa.exists().where(
        later_invitation, sa.or_(Invitation.opened_at.is_not(None), Invitation.used_at.is_not(None))
    )
    used = sa.exists().where(later_invitation, Invitation.used_at.is_not(None))
    session = sa.exists().where(UserSession.user_id == uid, UserSession.created_at >= since)
    token = sa.exists().where(MDMAccessToken.user_id == uid, MDMAccessToken.created_at >= since)
    device = sa.exists().where(Device.user_id == uid, Device.created_at >= since)
    enrolled = sa.exists().where(
        Device.user_id == uid, Device.enrolled_at.is_not(None), Device.enrolled_at >= since
    )
    stage = sa.case(
        (enrolled, 4),
        (sa.or_(device, token), 3),
        (sa.or_(session, used), 2),
        (opened, 1),
        else_=0,
    )
    expected = expected_types()
    newest_device_type = (
        sa.select(Device.enrollment_type)
        .where(Device.user_id == uid)
        .order_by(Device.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    kind = sa.func.coalesce(newest_device_type, expected.c.enrollment_type, _default_type())
    query = sa.select(
        uid.label("user_id"),
        since.label("invited_at"),
        stage.label("stage"),
        kind.label("enrollment_type"),
    ).select_from(cohort.outerjoin(expected, expected.c.user_id == uid))
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


# -- the funnel ------------------------------------------------------------------------------


@dataclass
class Step:
    stage: str
    count: int
    # Of those at the previous stage, and of everyone invited (None when dividing by zero).
    from_previous: float | None
    from_invited: float | None


def _steps(reached: list[int]) -> list[Step]:
    """Steps from "reached at least stage k" counts."""
    steps = []
    for k, stage in enumerate(STAGES):
        previous = reached[k - 1] if k else None
        steps.append(
            Step(
                stage,
                reached[k],
                (reached[k] / previous if previous else None) if k else None,
                (reached[k] / reached[0] if reached[0] else None) if k else None,
            )
        )
    return steps


def _reached(by_stage: dict[int, int]) -> list[int]:
    """{stage: people exactly there} → [people at stage k or later for k in 0..4]."""
    return [sum(n for s, n in by_stage.items() if s >= k) for k in range(len(STAGES))]


@dataclass
class Breakdown:
    key: object  # a group id or a type
    label: str
    steps: list[Step]


@dataclass
class Bucket:
    start: date
    end: date  # inclusive
    count: int


@dataclass
class Funnel:
    filters: RolloutFilter
    steps: list[Step]
    by_type: list[Breakdown]
    by_group: list[Breakdown]
    chart: list[Bucket]
    chart_unit: str  # "day" | "week"
    median_to_enrollment: timedelta | None
    enrolled_with_times: int = 0
    groups: list[Group] = field(default_factory=list)

    @property
    def invited(self) -> int:
        return self.steps[0].count


def funnel(filters: RolloutFilter) -> Funnel:
    """The funnel, its breakdowns by type and by group, the chart and the median time."""
    people = people_query(filters)
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    rows = db.session.execute(
        sa.select(people.c.enrollment_type, people.c.stage, sa.func.count()).group_by(
            people.c.enrollment_type, people.c.stage
        )
    )
    total: dict[int, int] = defaultdict(int)
    for kind, stage, n in rows:
        counts[str(kind)][int(stage)] = int(n)
        total[int(stage)] += int(n)
    by_type = [
        Breakdown(kind, kind, _steps(_reached(counts[kind]))) for kind in TYPES if counts.get(kind)
    ]

    group_counts: dict[int, dict[int, int]] = defaultdict(dict)
    for group_id, stage, n in db.session.execute(
        sa.select(group_membership.c.group_id, people.c.stage, sa.func.count())
        .join(group_membership, group_membership.c.user_id == people.c.user_id)
        .group_by(group_membership.c.group_id, people.c.stage)
    ):
        group_counts[int(group_id)][int(stage)] = int(n)
    names = dict(
        db.session.execute(sa.select(Group.id, Group.name).where(Group.id.in_(group_counts)))
        .tuples()
        .all()
    )
    by_group = sorted(
        (
            Breakdown(gid, names.get(gid, str(gid)), _steps(_reached(c)))
            for gid, c in group_counts.items()
        ),
        key=lambda b: b.label.lower(),
    )

    median, enrolled = _median_to_enrollment(people)
    chart, unit = enrollments_over_time(filters)
    return Funnel(
        filters=filters,
        steps=_steps(_reached(total)),
        by_type=by_type,
        by_group=by_group,
        chart=chart,
        chart_unit=unit,
        median_to_enrollment=median,
        enrolled_with_times=enrolled,
        groups=list(db.session.scalars(sa.select(Group).order_by(Group.name))),
    )


def _median_to_enrollment(people: sa.Subquery) -> tuple[timedelta | None, int]:
    first_enrolled = (
        sa.select(sa.func.min(Device.enrolled_at))
        .where(Device.user_id == people.c.user_id, Device.enrolled_at >= people.c.invited_at)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(people.c.invited_at, first_enrolled).where(people.c.stage == 4)
    ).all()
    seconds = []
    for invited_at, enrolled_at in rows:
        if invited_at is None or enrolled_at is None:
            continue
        seconds.append((_aware(enrolled_at) - _aware(invited_at)).total_seconds())
    if not seconds:
        return None, 0
    return timedelta(seconds=statistics.median(seconds)), len(seconds)


def _aware(moment: datetime) -> datetime:
    # Raw SQL columns skip the UTC type decorator: values come back naive UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def enrollments_over_time(filters: RolloutFilter) -> tuple[list[Bucket], str]:
    """Devices enrolled in the period, per UTC day (per week beyond two months)."""
    day = sa.func.date(Device.enrolled_at)
    query = (
        sa.select(day, sa.func.count())
        .where(Device.enrolled_at >= filters.since, Device.enrolled_at < filters.until)
        .group_by(day)
    )
    if filters.group_id is not None:
        query = query.where(
            Device.user_id.in_(
                sa.select(group_membership.c.user_id).where(
                    group_membership.c.group_id == filters.group_id
                )
            )
        )
    if filters.enrollment_type:
        query = query.where(Device.enrollment_type == filters.enrollment_type)
    per_day: dict[date, int] = {}
    for value, n in db.session.execute(query):
        moment = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        per_day[moment] = int(n)
    weekly = filters.days > DAILY_CHART_MAX_DAYS
    step = 7 if weekly else 1
    buckets = []
    cursor = filters.start
    while cursor <= filters.end:
        last = min(cursor + timedelta(days=step - 1), filters.end)
        count = sum(
            per_day.get(cursor + timedelta(days=i), 0) for i in range((last - cursor).days + 1)
        )
        buckets.append(Bucket(cursor, last, count))
        cursor = last + timedelta(days=1)
    return buckets, "week" if weekly else "day"


# -- the people list behind a count ------------------------------------------------------------


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
