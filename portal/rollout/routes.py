"""The rollout pages: the funnel dashboard, the people behind each count, the stuck list and
its bulk resend (admins and helpdesk)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import format_date, format_percent, format_timedelta
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import caching
from ..access import role_required
from ..admin.users import TYPE_LABELS
from ..extensions import db
from ..htmx import render
from ..invitations.service import InvitationSettings
from ..models import BulkJob, Group, Reminder, ReminderSchedule, Role, User, utcnow
from . import bp, chart, cohort, funnel, stuck
from . import reminders as rem
from .cohort import STAGE_LABELS, STAGES
from .filters import FilterError, RolloutFilter, parse_filter

PAGE_SIZE = 50


@dataclass
class RowPage:
    """One page of a multi-column query, shaped like Flask-SQLAlchemy's pagination."""

    items: list[tuple]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(-(-self.total // self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate_rows(
    query: sa.Select, page: int, per_page: int = PAGE_SIZE, total: int | None = None
) -> RowPage:
    """A page of `query`'s rows; `total` when the caller already counted them."""
    if total is None:
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        )
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return RowPage([tuple(row) for row in rows], page, per_page, int(total or 0))


def _actor():
    return current_user._get_current_object()


def _filters(args) -> tuple[RolloutFilter, str | None]:
    """The filters asked for; on bad input the defaults and the error to show."""
    try:
        return parse_filter(args), None
    except FilterError as error:
        return parse_filter(MultiDict()), str(error)


def percent(value: float | None) -> str:
    return "–" if value is None else format_percent(value, "#,##0%")


def _bucket_label(unit: str):
    def label(bucket) -> str:
        return format_date(bucket.start, "d MMM")

    return label


def _labels() -> dict:
    return {
        "stage_labels": STAGE_LABELS,
        "stages": STAGES,
        "type_labels": TYPE_LABELS,
        "reason_labels": stuck.REASON_LABELS,
        "code_labels": stuck.CODE_LABELS,
        "percent": percent,
    }


def counted_funnel(filters: RolloutFilter, *, again: bool = False) -> funnel.Funnel:
    """The funnel for `filters`, counted at most `ROLLOUT_FUNNEL_CACHE_SECONDS` ago by this
    process (counting 20,000 people takes a quarter of a second); `again` counts it now.

    The dashboard says when it was counted and offers to count again; its CSV gives the
    same numbers as the screen.
    """
    answers = caching.cache("rollout-funnel", "ROLLOUT_FUNNEL_CACHE_SECONDS", 60)
    if again:
        answers.forget(filters)
    return answers.get_or_compute(filters, lambda: funnel.funnel(filters))


@bp.get("")
@role_required(Role.HELPDESK)
def dashboard():
    """The funnel for a period, by group and type; enrollments over time; median time."""
    filters, error = _filters(request.args)
    data = counted_funnel(filters, again=request.args.get("count") == "again")
    median = data.median_to_enrollment
    return render(
        "rollout/dashboard.html",
        status=400 if error else 200,
        data=data,
        filters=filters,
        error=error,
        chart=chart.build(data.chart, _bucket_label(data.chart_unit)),
        median=format_timedelta(median, granularity="hour", threshold=1.5) if median else None,
        median_hours=round(median.total_seconds() / 3600, 1) if median else None,
        **_labels(),
    )


@bp.get("/people")
@role_required(Role.HELPDESK)
def people():
    """The people behind one count of the dashboard (same filters), paged."""
    filters, error = _filters(request.args)
    if error:
        abort(400, error)
    stage = request.args.get("stage", "invited")
    if stage not in STAGES:
        abort(400, _("Unknown stage."))
    exactly = request.args.get("exact") == "1"
    in_group = request.args.get("in_group", type=int)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = cohort.people_at(filters, stage, exactly=exactly, group_id=in_group)
    pagination = paginate_rows(query, page)
    args = {**filters.as_args(), "stage": stage}
    if exactly:
        args["exact"] = "1"
    if in_group:
        args["in_group"] = in_group
    return render(
        "rollout/people.html",
        "rollout/_people_rows.html",
        pagination=pagination,
        rows=pagination.items,
        filters=filters,
        stage=stage,
        exactly=exactly,
        in_group=in_group,
        args=args,
        **_labels(),
    )


def stuck_settings() -> stuck.StuckSettings:
    return stuck.StuckSettings.from_config(current_app.config)


def _reason_arg() -> str | None:
    reason = request.args.get("reason") or None
    if reason is not None and reason not in stuck.REASONS:
        abort(400, _("Unknown reason."))
    return reason


@bp.get("/stuck")
@role_required(Role.HELPDESK)
def stuck_list():
    """People who are stuck, why, and the fix; select and resend in bulk."""
    reason = _reason_arg()
    group_id = request.args.get("group", type=int)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    now = utcnow()
    settings = stuck_settings()
    rows, counts = stuck.stuck_page(
        now=now, settings=settings, reason=reason, group_id=group_id, page=page, per_page=PAGE_SIZE
    )
    total = counts[reason] if reason else sum(counts.values())
    pagination = RowPage(rows, page, PAGE_SIZE, total)
    return render(
        "rollout/stuck.html",
        "rollout/_stuck_rows.html",
        pagination=pagination,
        rows=pagination.items,
        reason=reason,
        group_id=group_id,
        counts=counts,
        settings=settings,
        fixable_codes=stuck.fixable_codes,
        org_codes=stuck.ORG_CODES,
        now=now,
        **_labels(),
    )


@bp.post("/stuck/resend")
@role_required(Role.HELPDESK)
def bulk_resend():
    """Start resending to the people selected (or every stuck person of a reason)."""
    if request.form.get("scope") == "all":
        reason = request.form.get("reason") or None
        if reason is not None and reason not in stuck.REASONS:
            abort(400, _("Unknown reason."))
        group_id = request.form.get("group", type=int)
        rows = db.session.execute(
            stuck.stuck_query(
                now=utcnow(), settings=stuck_settings(), reason=reason, group_id=group_id
            )
            .with_only_columns(stuck.User.id)
            .limit(stuck.BULK_MAX + 1)
        ).scalars()
        ids = list(rows)
    else:
        ids = [int(v) for v in request.form.getlist("user_id") if v.isdigit() and len(v) < 12]
    try:
        job = stuck.start_resend(_actor(), ids)
    except stuck.BulkError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".stuck_list", reason=request.form.get("reason") or None), 303)
    db.session.commit()
    return redirect(url_for(".job", job_id=job.id), 303)


def _job_or_404(job_id: int) -> BulkJob:
    job = db.session.get(BulkJob, job_id)
    if job is None or (job.actor_id != current_user.id and not current_user.has_role(Role.ADMIN)):
        abort(404)
    return job


def _job_context(job: BulkJob) -> dict:
    return {
        "job": job,
        "summary": stuck.summary(job),
        "total": len(job.user_ids),
        "when": lambda iso: datetime.fromisoformat(iso).astimezone(UTC),
    }


@bp.get("/jobs/<int:job_id>")
@role_required(Role.HELPDESK)
def job(job_id: int):
    """A bulk resend: its progress while it runs, then who was sent what."""
    return render("rollout/job.html", "rollout/_job.html", **_job_context(_job_or_404(job_id)))


@bp.post("/jobs/<int:job_id>/step")
@role_required(Role.HELPDESK)
def job_step(job_id: int):
    """Resend to the next slice of people, and show the progress (htmx polls this)."""
    job = _job_or_404(job_id)
    if job.finished_at is None:
        stuck.work(
            job.id,
            actor=_actor(),
            settings=InvitationSettings.from_config(current_app.config),
        )
        job = db.session.get(BulkJob, job_id)
    if request.headers.get("HX-Request"):
        return render("rollout/_job.html", **_job_context(job))
    return redirect(url_for(".job", job_id=job.id), 303)


# -- reminders -------------------------------------------------------------------------------


@bp.get("/reminders")
@role_required(Role.ADMIN)
def reminders():
    """Each group's reminder schedule, and the reminders sent lately."""
    return render("rollout/reminders.html", **_reminders_context())


def _reminders_context(errors: dict | None = None, values: dict | None = None) -> dict:
    groups = db.session.scalars(sa.select(Group).order_by(Group.name)).all()
    schedules = {s.group_id: s for s in db.session.scalars(sa.select(ReminderSchedule))}
    recent = db.session.execute(
        sa.select(Reminder, User)
        .join(User, User.id == Reminder.user_id)
        .order_by(Reminder.sent_at.desc(), Reminder.id.desc())
        .limit(50)
    ).all()
    return {
        "groups": groups,
        "schedules": schedules,
        "recent": recent,
        "errors": errors or {},
        "values": values or {},
        "default_zone": current_app.config.get("REMINDER_DEFAULT_TIME_ZONE", "UTC"),
    }


def _hour(value: str | None, default: int) -> int:
    value = (value or "").strip()
    if not value:
        return default
    if not value.isdigit() or len(value) > 2:
        raise rem.ScheduleError(_("Working hours are whole hours from 0 to 24."))
    return int(value)


@bp.post("/reminders/<int:group_id>")
@role_required(Role.ADMIN)
def save_reminders(group_id: int):
    """Create or change a group's reminder schedule."""
    group = db.get_or_404(Group, group_id)
    form = request.form
    try:
        days = rem.parse_days(form.get("days", ""))
        max_text = (form.get("max_reminders") or "").strip() or str(len(days))
        if not max_text.isdigit() or len(max_text) > 3:
            raise rem.ScheduleError(_("Send between 1 and 10 reminders."))
        rem.save_schedule(
            _actor(),
            group,
            days=days,
            max_reminders=int(max_text),
            start_hour=_hour(form.get("start_hour"), 9),
            end_hour=_hour(form.get("end_hour"), 17),
            enabled=form.get("enabled") == "on",
        )
    except rem.ScheduleError as error:
        db.session.rollback()
        context = _reminders_context({group.id: str(error)}, {group.id: form.to_dict()})
        return render("rollout/reminders.html", status=400, **context)
    db.session.commit()
    flash(_("Reminders for “%(name)s” saved.", name=group.name), "success")
    return redirect(url_for(".reminders", _anchor=f"group-{group.id}"), 303)
