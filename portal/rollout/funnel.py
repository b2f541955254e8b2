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


def _date(value: str | None, default: date, error) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise FilterError(error) from exc


def parse_filter(args, *, today: date | None = None) -> RolloutFilter:
    """Filters from a query string (`from`, `to`, `group`, `type`); FilterError if wrong."""
    today = today or datetime.now(UTC).date()
    end = _date(args.get("to"), today, _l("The end date is not a date (YYYY-MM-DD)."))
    start = _date(
        args.get("from"),
        end - timedelta(days=DEFAULT_DAYS - 1),
        _l("The start date is not a date (YYYY-MM-DD)."),
    )
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
        newest_device.enrollment_type, expected.c.enrollment_type, _default_type()
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


def without_jit() -> None:
    """PostgreSQL's JIT compiles these aggregate queries for longer than they run: off, for
    this transaction only."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL jit = off"))


def funnel(filters: RolloutFilter) -> Funnel:
    """The funnel, its breakdowns by type and by group, the chart and the median time.

    The people are computed once (a common table expression) and counted three ways in one
    statement; only the counts come back.
    """
    without_jit()
    people = people_query(filters).element.cte("people")
    by_type = sa.select(
        sa.literal("type").label("breakdown"),
        sa.cast(people.c.enrollment_type, sa.String).label("key"),
        people.c.stage,
        sa.func.count().label("n"),
    ).group_by(people.c.enrollment_type, people.c.stage)
    by_group = (
        sa.select(
            sa.literal("group"),
            sa.cast(group_membership.c.group_id, sa.String),
            people.c.stage,
            sa.func.count(),
        )
        .join(group_membership, group_membership.c.user_id == people.c.user_id)
        .group_by(group_membership.c.group_id, people.c.stage)
    )
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    group_counts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    total: dict[int, int] = defaultdict(int)
    branches = [by_type, by_group]
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    if postgresql:
        seconds = sa.func.extract("epoch", people.c.enrolled_at - people.c.invited_at)
        branches.append(
            sa.select(
                sa.literal("median"),
                sa.cast(sa.func.percentile_cont(0.5).within_group(seconds), sa.String),
                sa.literal(0),
                sa.func.count(people.c.enrolled_at),
            ).where(people.c.stage == 4)
        )
    median_row = None
    for breakdown, key, stage, n in db.session.execute(sa.union_all(*branches)):
        stage, n = int(stage), int(n)
        if breakdown == "median":
            median_row = (key, n)
        elif breakdown == "type":
            counts[str(key)][stage] += n
            total[stage] += n
        else:
            group_counts[int(key)][stage] += n
    type_rows = [
        Breakdown(kind, kind, _steps(_reached(counts[kind]))) for kind in TYPES if counts.get(kind)
    ]
    groups = list(db.session.scalars(sa.select(Group).order_by(Group.name)))
    names = {g.id: g.name for g in groups}
    group_rows = sorted(
        (
            Breakdown(gid, names.get(gid, str(gid)), _steps(_reached(c)))
            for gid, c in group_counts.items()
        ),
        key=lambda b: b.label.lower(),
    )
    median, enrolled = _median_to_enrollment(people, median_row) if total.get(4) else (None, 0)
    chart, unit = enrollments_over_time(filters)
    return Funnel(
        filters=filters,
        steps=_steps(_reached(total)),
        by_type=type_rows,
        by_group=group_rows,
        chart=chart,
        chart_unit=unit,
        median_to_enrollment=median,
        enrolled_with_times=enrolled,
        groups=groups,
    )


def _median_to_enrollment(people, median_row) -> tuple[timedelta | None, int]:
    """The median time from invitation to first enrollment of those who enrolled.

    PostgreSQL computed it with the counts (`percentile_cont`); elsewhere the durations are
    read and the median taken here.
    """
    if median_row is not None:
        median, n = median_row
        return (timedelta(seconds=float(median)) if median is not None else None), n
    durations = [
        (_aware(enrolled_at) - _aware(invited_at)).total_seconds()
        for invited_at, enrolled_at in db.session.execute(
            sa.select(people.c.invited_at, people.c.enrolled_at).where(people.c.stage == 4)
        )
        if invited_at is not None and enrolled_at is not None
    ]
    if not durations:
        return None, 0
    return timedelta(seconds=statistics.median(durations)), len(durations)


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
