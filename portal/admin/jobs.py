"""Background jobs (admins): the workers seen, what waits, and each job's last run."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import audit
from ..access import role_required
from ..extensions import db
from ..htmx import render
from ..main import health
from ..mdm import push
from ..models import Role, utcnow
from ..outbox import service as outbox
from ..worker import jobs, schedule
from . import bp


@bp.get("/jobs")
@role_required(Role.ADMIN)
def jobs_page():
    """The background worker: running workers, waiting work, and every job's last outcome."""
    now = utcnow()
    rows = schedule.rows()
    workers = schedule.workers()
    alive = [w for w in workers if now - w.seen_at <= health.WORKER_SILENCE]
    return render(
        "admin/jobs.html",
        now=now,
        workers=workers,
        alive=alive,
        periodic=[(job, rows.get(job.name)) for job in jobs.registered()],
        queues=[(name, title, rows.get(name)) for name, title in jobs.QUEUES.items()],
        pushes_waiting=push.waiting(),
        mail_waiting=outbox.counts().get("pending", 0),
        form=FlaskForm(),
        silence=health.WORKER_SILENCE,
    )


@bp.post("/jobs/<name>/run")
@role_required(Role.ADMIN)
def run_job(name: str):
    """Make a periodic job due now: the next worker pass runs it."""
    if name not in jobs.JOBS or not FlaskForm().validate_on_submit():
        abort(404 if name not in jobs.JOBS else 400)
    schedule.run_soon(name)
    audit.record(current_user._get_current_object(), "worker.job.requested", after={"job": name})
    db.session.commit()
    flash(_("“%(job)s” will run within a few seconds.", job=jobs.JOBS[name].title), "success")
    return redirect(url_for("admin.jobs_page"), 303)
