"""CSV exports of what a list shows, for the filters on screen, streamed row by row.

Each export builds its rows from the very query its page uses (`directory.user_search`,
`admin.devices._device_query`, `admin.routes.audit_query`, the funnel's), so the file and the
screen cannot disagree. Rows are read from the database in chunks and written as they come,
so a large export never sits whole in memory. A cell that a spreadsheet would take for a
formula (=, +, -, @ first) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

import sqlalchemy as sa
from flask import Response, abort, request, stream_with_context

from ..access import role_required
from ..admin.devices import MAX_QUERY, _choice, _device_query
from ..admin.routes import audit_query
from ..directory import service as directory
from ..extensions import db
from ..models import (
    Device,
    DeviceStatus,
    EnrollmentDecision,
    EnrollmentType,
    Group,
    Invitation,
    Platform,
    Role,
    User,
    group_membership,
    utcnow,
)
from ..privacy import mask_apple_id
from . import bp, cohort, funnel, stuck
from .cohort import STAGES
from .filters import FilterError, parse_filter
from .routes import counted_funnel

CHUNK = 500
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value.value if hasattr(value, "value") else value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _stream(name: str, header: list[str], rows: Iterable[Iterable]) -> Response:
    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow([_cell(v) for v in row])
            count += 1
            if count % CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    stamp = utcnow().strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _chunks(query: sa.Select):
    return db.session.execute(query.execution_options(yield_per=CHUNK))


# -- users -----------------------------------------------------------------------------------

USER_HEADER = [
    "id",
    "name",
    "email",
    "role",
    "source",
    "active",
    "managed_apple_id",
    "managed_apple_id_conflict",
    "groups",
    "expected_enrollment_type",
    "last_decision",
    "last_decision_at",
    "enrollment_status",
    "invited_at",
]


def user_rows(query: sa.Select) -> Iterator[list]:
    """The users of `query` with their status (newest device) and decision."""
    users = query.subquery("listed")
    expected = cohort.expected_types()
    default_type = cohort.default_type()
    newest_status = (
        sa.select(Device.status)
        .where(Device.user_id == users.c.id)
        .order_by(Device.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    decision = (
        sa.select(EnrollmentDecision.enrollment_type)
        .where(EnrollmentDecision.user_id == users.c.id)
        .order_by(EnrollmentDecision.created_at.desc(), EnrollmentDecision.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    decided_at = (
        sa.select(sa.func.max(EnrollmentDecision.created_at))
        .where(EnrollmentDecision.user_id == users.c.id)
        .scalar_subquery()
    )
    invited_at = (
        sa.select(sa.func.max(Invitation.created_at))
        .where(Invitation.user_id == users.c.id)
        .scalar_subquery()
    )
    rows = sa.select(
        users.c.id,
        users.c.display_name,
        users.c.email,
        users.c.role,
        users.c.source,
        users.c.active,
        users.c.managed_apple_id,
        users.c.managed_apple_id_conflict,
        sa.func.coalesce(expected.c.enrollment_type, default_type),
        decision,
        decided_at,
        newest_status,
        invited_at,
    ).outerjoin(expected, expected.c.user_id == users.c.id)
    # The page's order (by name, then id).
    rows = rows.order_by(sa.func.lower(users.c.display_name), users.c.id)
    group_names = _group_names()
    for row in _chunks(rows):
        (uid, name, email, role, source, active, apple_id, conflict, *rest) = row
        expected_type, last, last_at, status, invited = rest
        yield [
            uid,
            name,
            email,
            role,
            source,
            bool(active),
            mask_apple_id(apple_id) if apple_id else "",
            mask_apple_id(conflict) if conflict else "",
            "; ".join(group_names.get(uid, ())),
            expected_type,
            last,
            _aware(last_at),
            status or "not_started",
            _aware(invited),
        ]


def _aware(value):
    return funnel._aware(value) if isinstance(value, datetime) else value


def _group_names() -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    query = (
        sa.select(group_membership.c.user_id, Group.name)
        .join(Group, Group.id == group_membership.c.group_id)
        .order_by(Group.name)
    )
    for user_id, name in db.session.execute(query):
        names.setdefault(user_id, []).append(name)
    return names


@bp.get("/export/users.csv")
@role_required(Role.HELPDESK)
def export_users():
    """The users list as CSV (same search and filter as /admin/users)."""
    q = (request.args.get("q") or "").strip()[:200]
    conflicts = request.args.get("filter") == "conflicts"
    return _stream(
        "users", USER_HEADER, user_rows(directory.user_search(q, conflicts_only=conflicts))
    )


# -- devices ---------------------------------------------------------------------------------

DEVICE_HEADER = [
    "id",
    "name",
    "owner_email",
    "platform",
    "os_version",
    "model",
    "enrollment_type",
    "enrollment_method",
    "status",
    "enrolled_at",
    "last_checkin_at",
    "enrollment_id",
]


def device_rows(query: sa.Select) -> Iterator[list]:
    # The list joins the owner only when it searches: their e-mail comes by their id.
    owner_email = (
        sa.select(User.email).where(User.id == Device.user_id).correlate(Device).scalar_subquery()
    )
    listed = query.with_only_columns(
        Device.id,
        Device.name,
        owner_email,
        Device.platform,
        Device.os_version,
        Device.model,
        Device.enrollment_type,
        Device.enrollment_method,
        Device.status,
        Device.enrolled_at,
        Device.last_checkin_at,
        Device.enrollment_id,
        maintain_column_froms=True,
    )
    for row in _chunks(listed):
        yield list(row)


@bp.get("/export/devices.csv")
@role_required(Role.HELPDESK)
def export_devices():
    """The devices list as CSV (same filters as /admin/devices)."""
    filters = {
        "q": (request.args.get("q") or "").strip()[:MAX_QUERY],
        "platform": _choice(request.args.get("platform"), Platform),
        "kind": _choice(request.args.get("kind"), EnrollmentType),
        "status": _choice(request.args.get("status"), DeviceStatus),
    }
    return _stream("devices", DEVICE_HEADER, device_rows(_device_query(**filters)))


# -- the funnel and the people behind it -------------------------------------------------------


def _filters():
    try:
        return parse_filter(request.args)
    except FilterError as error:
        abort(400, str(error))


FUNNEL_HEADER = ["breakdown", "key", "label", *STAGES, "enrolled_of_invited"]


def funnel_rows(data: funnel.Funnel) -> Iterator[list]:
    def line(section, key, label, steps):
        rate = steps[-1].from_invited
        return [section, key, label, *(s.count for s in steps), "" if rate is None else rate]

    yield line("all", "", "", data.steps)
    for row in data.by_type:
        yield line("type", row.key, row.label, row.steps)
    for row in data.by_group:
        yield line("group", row.key, row.label, row.steps)
    for bucket in data.chart:
        yield ["enrolled_per_" + data.chart_unit, bucket.start.isoformat(), "", bucket.count]
    median = data.median_to_enrollment
    yield [
        "median_hours_to_enrollment",
        "",
        "",
        "" if median is None else round(median.total_seconds() / 3600, 2),
    ]


@bp.get("/export/funnel.csv")
@role_required(Role.HELPDESK)
def export_funnel():
    """The dashboard's numbers as CSV (same period, group and type)."""
    return _stream("funnel", FUNNEL_HEADER, funnel_rows(counted_funnel(_filters())))


PEOPLE_HEADER = ["id", "name", "email", "invited_at", "furthest_step", "enrollment_type"]


@bp.get("/export/people.csv")
@role_required(Role.HELPDESK)
def export_people():
    """The people behind one count of the dashboard, as CSV."""
    filters = _filters()
    stage = request.args.get("stage", "invited")
    if stage not in STAGES:
        abort(400)
    query = cohort.people_at(
        filters,
        stage,
        exactly=request.args.get("exact") == "1",
        group_id=request.args.get("in_group", type=int),
    )

    def rows():
        for user, invited_at, reached, kind in db.session.execute(query):
            yield [
                user.id,
                user.display_name,
                user.email,
                _aware(invited_at),
                STAGES[reached],
                kind,
            ]

    return _stream("people", PEOPLE_HEADER, rows())


STUCK_HEADER = ["id", "name", "email", "reason", "invited_at", "expires_at", "fixable_reasons"]


@bp.get("/export/stuck.csv")
@role_required(Role.HELPDESK)
def export_stuck():
    """The stuck list as CSV (same reason filter)."""
    from .routes import stuck_settings

    reason = request.args.get("reason") or None
    if reason is not None and reason not in stuck.REASONS:
        abort(400)
    query = stuck.stuck_query(now=utcnow(), settings=stuck_settings(), reason=reason)

    def rows():
        for user, why, invited_at, expires_at, codes in db.session.execute(query):
            yield [
                user.id,
                user.display_name,
                user.email,
                why,
                _aware(invited_at),
                _aware(expires_at),
                "; ".join(stuck.fixable_codes(codes)),
            ]

    return _stream("stuck", STUCK_HEADER, rows())


# -- audit -----------------------------------------------------------------------------------

AUDIT_HEADER = [
    "id",
    "created_at",
    "actor",
    "channel",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
]


@bp.get("/export/audit.csv")
@role_required(Role.ADMIN)
def export_audit():
    """The audit log as CSV (same action filter as /admin/audit); newest first."""
    action = (request.args.get("action") or "").strip()

    def rows():
        for (event,) in _chunks(audit_query(action)):
            yield [
                event.id,
                event.created_at,
                event.actor_label,
                event.channel,
                event.action,
                event.target_type,
                event.target_id,
                json.dumps(event.before, sort_keys=True) if event.before else "",
                json.dumps(event.after, sort_keys=True) if event.after else "",
            ]

    return _stream("audit", AUDIT_HEADER, rows())
