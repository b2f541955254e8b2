"""The rollout funnel: how many people invited in a period reached each stage (SPEC §6).

The people and their stages come from `cohort.people_query`; here they are counted overall,
by enrollment type and by group, with the chart of enrollments over time and the median time
from invitation to enrollment. Everything is counted by the database in a few aggregate
queries; the functions take plain arguments and never read the request.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Device, Group, group_membership
from .cohort import STAGES, people_query, without_jit
from .filters import TYPES, RolloutFilter

# Beyond this many days the chart counts weeks, not days.
DAILY_CHART_MAX_DAYS = 62


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
    # When it was counted: the dashboard may show an answer up to a minute old, and says so.
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def invited(self) -> int:
        return self.steps[0].count


def funnel(filters: RolloutFilter) -> Funnel:
    """The funnel, its breakdowns by type and by group, the chart and the median time.

    The people are computed once (a common table expression) and counted three ways in one
    statement; only the counts come back. The answer holds plain values only (no database
    objects), so a caller may keep it for a while.
    """
    computed_at = datetime.now(UTC)
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
    names = {gid: name for gid, name in db.session.execute(sa.select(Group.id, Group.name))}
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
        computed_at=computed_at,
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
