"""The rollout funnel counts what a hand-written SQL query counts, on SQLite and PostgreSQL
(`DATABASE_URL`), at the size of a real rollout."""

from __future__ import annotations

import os
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.rollout import cohort, funnel
from portal.rollout.filters import FilterError, RolloutFilter, parse_filter
from tests.rollout.seeding import seed_rollout

# The funnel written out by hand: one aggregate per event, joined back to the cohort.
HAND_WRITTEN = """
WITH cohort AS (
  SELECT user_id, MIN(created_at) AS invited_at FROM invitation
  WHERE created_at >= :since AND created_at < :until GROUP BY user_id
),
opened AS (
  SELECT DISTINCT c.user_id FROM cohort c JOIN invitation i ON i.user_id = c.user_id
  WHERE i.created_at >= c.invited_at AND (i.opened_at IS NOT NULL OR i.used_at IS NOT NULL)
),
signed AS (
  SELECT DISTINCT c.user_id FROM cohort c JOIN user_session s ON s.user_id = c.user_id
  WHERE s.created_at >= c.invited_at
  UNION
  SELECT DISTINCT c.user_id FROM cohort c JOIN invitation i ON i.user_id = c.user_id
  WHERE i.created_at >= c.invited_at AND i.used_at IS NOT NULL
),
started AS (
  SELECT DISTINCT c.user_id FROM cohort c JOIN device d ON d.user_id = c.user_id
  WHERE d.created_at >= c.invited_at
  UNION
  SELECT DISTINCT c.user_id FROM cohort c JOIN mdm_access_token t ON t.user_id = c.user_id
  WHERE t.created_at >= c.invited_at
),
enrolled AS (
  SELECT DISTINCT c.user_id FROM cohort c JOIN device d ON d.user_id = c.user_id
  WHERE d.enrolled_at IS NOT NULL AND d.enrolled_at >= c.invited_at
),
staged AS (
  SELECT c.user_id,
    CASE WHEN e.user_id IS NOT NULL THEN 4 WHEN st.user_id IS NOT NULL THEN 3
         WHEN sg.user_id IS NOT NULL THEN 2 WHEN o.user_id IS NOT NULL THEN 1 ELSE 0 END AS stage
  FROM cohort c
  LEFT JOIN opened o ON o.user_id = c.user_id
  LEFT JOIN signed sg ON sg.user_id = c.user_id
  LEFT JOIN started st ON st.user_id = c.user_id
  LEFT JOIN enrolled e ON e.user_id = c.user_id
)
SELECT
  COUNT(*),
  SUM(CASE WHEN stage >= 1 THEN 1 ELSE 0 END),
  SUM(CASE WHEN stage >= 2 THEN 1 ELSE 0 END),
  SUM(CASE WHEN stage >= 3 THEN 1 ELSE 0 END),
  SUM(CASE WHEN stage >= 4 THEN 1 ELSE 0 END)
FROM staged s
{where}
"""
IN_GROUP = "WHERE s.user_id IN (SELECT user_id FROM group_membership WHERE group_id = :group)"
ENROLLED_PER_DAY = """
SELECT COUNT(*) FROM device WHERE enrolled_at >= :since AND enrolled_at < :until
"""


def hand_counts(filters: RolloutFilter, group_id: int | None = None) -> list[int]:
    params = {
        "since": filters.since.replace(tzinfo=None),
        "until": filters.until.replace(tzinfo=None),
    }
    where = ""
    if group_id is not None:
        where, params["group"] = IN_GROUP, group_id
    row = db.session.execute(sa.text(HAND_WRITTEN.format(where=where)), params).one()
    return [int(v or 0) for v in row]


def test_funnel_matches_hand_written_sql(ctx):
    from portal import demo

    demo.seed("testing")
    seeded = seed_rollout(people=1_200, invitations=1_800, devices=900)
    today = seeded.now.date()
    for days in (7, 30, 90):
        filters = parse_filter(
            MultiDict({"from": (today - timedelta(days=days - 1)).isoformat()}), today=today
        )
        data = funnel.funnel(filters)
        assert [s.count for s in data.steps] == hand_counts(filters)
        for row in data.by_group:
            assert [s.count for s in row.steps] == hand_counts(filters, row.key)
        # The by-type rows add up to everyone.
        for k in range(5):
            assert sum(r.steps[k].count for r in data.by_type) == data.steps[k].count
        # The chart counts every device enrolled in the period.
        total = db.session.execute(
            sa.text(ENROLLED_PER_DAY),
            {
                "since": filters.since.replace(tzinfo=None),
                "until": filters.until.replace(tzinfo=None),
            },
        ).scalar()
        assert sum(b.count for b in data.chart) == total
    # Counts only go down along the funnel, and something reached every step.
    counts = [s.count for s in data.steps]
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0


def test_group_filter_and_people_behind_each_count(ctx):
    from portal import demo

    demo.seed("testing")
    seeded = seed_rollout(people=600, invitations=900, devices=450)
    today = seeded.now.date()
    group = seeded.group_ids[1]
    filters = parse_filter(
        MultiDict({"from": (today - timedelta(days=59)).isoformat(), "group": str(group)}),
        today=today,
    )
    data = funnel.funnel(filters)
    assert [s.count for s in data.steps] == hand_counts(filters, group)
    for k, stage in enumerate(cohort.STAGES):
        people = db.session.execute(cohort.people_at(filters, stage)).all()
        assert len(people) == data.steps[k].count
        assert all(row.stage >= k for row in people)
    stopped = db.session.execute(cohort.people_at(filters, "signed_in", exactly=True)).all()
    assert len(stopped) == data.steps[2].count - data.steps[3].count


def test_type_filter_counts_people_by_their_devices_or_setting(ctx):
    from portal import demo

    demo.seed("testing")
    seeded = seed_rollout(people=300, invitations=400, devices=200)
    today = seeded.now.date()
    args = {"from": (today - timedelta(days=60)).isoformat()}
    everyone = funnel.funnel(parse_filter(MultiDict(args), today=today))
    for kind in ("user", "device"):
        typed = funnel.funnel(parse_filter(MultiDict({**args, "type": kind}), today=today))
        row = next(r for r in everyone.by_type if r.key == kind)
        assert [s.count for s in typed.steps] == [s.count for s in row.steps]


def test_median_time_from_invitation_to_enrollment(ctx):
    from portal import demo
    from portal.models import Device, Invitation, User

    demo.seed("testing")
    alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
    bob = db.session.scalar(sa.select(User).where(User.email == "bob@example.com"))
    from datetime import datetime

    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    for n, (user, hours) in enumerate(((alice, 10), (bob, 30))):
        db.session.add(
            Invitation(
                user_id=user.id,
                token_hash=f"{n:064x}",
                expires_at=start + timedelta(days=7),
                sent_by="admin",
                created_at=start,
            )
        )
        db.session.add(
            Device(
                user_id=user.id,
                platform="ios",
                enrollment_type="user",
                enrollment_method="profile",
                status="enrolled",
                created_at=start + timedelta(hours=1),
                enrolled_at=start + timedelta(hours=hours),
                enrollment_id=f"E{n}",
            )
        )
    db.session.commit()
    filters = parse_filter(MultiDict({"from": "2026-11-01", "to": "2026-11-30"}))
    data = funnel.funnel(filters)
    assert data.median_to_enrollment == timedelta(hours=20)
    assert data.enrolled_with_times == 2
    assert data.steps[-1].count == 2
    # One bar a day, a week of them, two enrollments on two days.
    assert len(data.chart) == 30 and sum(b.count for b in data.chart) == 2


@pytest.mark.parametrize(
    "args",
    [
        {"from": "yesterday"},
        {"from": "2026-05-02", "to": "2026-05-01"},
        {"from": "2020-01-01", "to": "2026-01-01"},
        {"group": "abc"},
        {"group": "999999"},
        {"type": "everything"},
    ],
)
def test_bad_filters_are_refused_with_a_reason(ctx, args):
    with pytest.raises(FilterError) as error:
        parse_filter(MultiDict(args))
    assert str(error.value)


@pytest.fixture
def emptied_at_once(ctx):
    """The full-size data goes with one TRUNCATE: the suite's row-by-row clean-up checks
    every foreign key per deleted person and takes minutes at this size."""
    yield
    db.session.rollback()
    tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"TRUNCATE {tables} CASCADE"))
    db.session.commit()


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="the full-size rollout is checked on PostgreSQL",
)
def test_full_size_rollout_counts_match_on_postgresql(emptied_at_once):
    """20,000 people, 30,000 invitations, 15,000 devices."""
    from portal import demo

    demo.seed("testing")
    seeded = seed_rollout(people=20_000, invitations=30_000, devices=15_000)
    today = seeded.now.date()
    filters = parse_filter(
        MultiDict({"from": (today - timedelta(days=89)).isoformat()}), today=today
    )
    data = funnel.funnel(filters)
    assert [s.count for s in data.steps] == hand_counts(filters)
    assert data.steps[0].count == 20_000
    for row in data.by_group:
        assert [s.count for s in row.steps] == hand_counts(filters, row.key)
