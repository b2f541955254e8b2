"""`flask --app wsgi worker run --once`, `worker jobs`, `worker run-job NAME`."""

from __future__ import annotations

from portal.extensions import db
from portal.outbox import service as outbox
from portal.worker import schedule


def test_one_pass_sends_mail_runs_the_jobs_and_the_listing_shows_them(seeded, tmp_path):
    with seeded.app_context():
        outbox.enqueue(recipient="bob@example.com", subject="Your link", body_text="…")
        db.session.commit()
    runner = seeded.test_cli_runner()
    listing = runner.invoke(args=["worker", "jobs"])
    assert listing.exit_code == 0
    assert "expire_enrollments   never run" in listing.output
    result = runner.invoke(args=["worker", "run", "--once"])
    assert result.exit_code == 0, result.output
    # Without SMTP_URL the message is written to instance/outbox/*.eml.
    emls = list((tmp_path / "instance" / "outbox").glob("*.eml"))
    assert len(emls) == 1 and "bob@example.com" in emls[0].read_text()
    listing = runner.invoke(args=["worker", "jobs"]).output
    assert "outbox               ok" in listing and "sent 1" in listing
    assert "apps_sync            ok" in listing and "skipped: no Apps and Books" in listing


def test_run_job_runs_one_job_now(seeded):
    runner = seeded.test_cli_runner()
    result = runner.invoke(args=["worker", "run-job", "end_sessions"])
    assert result.exit_code == 0, result.output
    assert "end_sessions: ok: 0 expired sessions ended" in result.output
    with seeded.app_context():
        assert schedule.rows()["end_sessions"].runs == 1
    unknown = runner.invoke(args=["worker", "run-job", "make_coffee"])
    assert unknown.exit_code == 2 and "make_coffee" in unknown.output
