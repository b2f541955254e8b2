"""The rollout pages: the dashboard and the people behind its counts, the stuck list and its
bulk resend (rate limits and the audit apply), who may see them, the link-opened mark."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.invitations import service as invitations
from portal.models import AuditEvent, BulkJob, Invitation, InvitationSender, User, utcnow
from tests.conftest import csrf_token
from tests.rollout.seeding import seed_rollout

HX = {"HX-Request": "true"}


@pytest.fixture
def rollout(seeded):
    with seeded.app_context():
        return seed_rollout(people=240, invitations=320, devices=150)


@pytest.fixture
def admin(seeded, auth, client):
    auth.login("adam@example.com")
    return client


@pytest.fixture
def helpdesk(seeded, auth, client):
    auth.login("helen@example.com")
    return client


def _numbers(html: str, table_class: str = "funnel") -> list[int]:
    table = html.split(f'class="{table_class}"', 1)[1].split("</table>", 1)[0]
    return [int(n) for n in re.findall(r'people\?[^"]*">(\d+)</a>', table)]


def test_dashboard_shows_the_funnel_and_every_count_links_to_its_people(rollout, helpdesk, app):
    page = helpdesk.get(
        "/admin/rollout?from=" + (rollout.now.date() - timedelta(days=59)).isoformat()
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    counts = _numbers(html)
    assert len(counts) >= 5 and counts[0] > 0
    assert "Median time from invitation to enrollment" in html
    assert 'id="chart-table"' in html and "<svg" in html
    links = re.findall(r'href="(/admin/rollout/people\?[^"]+)"', html)
    assert links
    # Each count of the funnel table leads to exactly that many people.
    funnel_table = html.split('class="funnel"', 1)[1].split("</table>", 1)[0]
    for link, count in re.findall(r'href="(/admin/rollout/people\?[^"]+)">(\d+)</a>', funnel_table):
        listed = helpdesk.get(link.replace("&amp;", "&"))
        assert listed.status_code == 200
        text = listed.get_data(as_text=True)
        total = int(re.search(r"(\d+) (?:person|people)", text).group(1))
        assert total == int(count)


def test_by_group_cells_link_to_that_groups_people(rollout, admin):
    html = admin.get(
        "/admin/rollout?from=" + (rollout.now.date() - timedelta(days=59)).isoformat()
    ).get_data(as_text=True)
    section = html.split('id="by-group-heading"', 1)[1]
    link, count = re.findall(
        r'href="(/admin/rollout/people\?[^"]*in_group=\d+[^"]*)">(\d+)</a>', section
    )[0]
    text = admin.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert int(re.search(r"(\d+) (?:person|people)", text).group(1)) == int(count)


def test_bad_filters_answer_400_with_the_reason(rollout, admin):
    response = admin.get("/admin/rollout?from=2026-05-02&to=2026-05-01")
    assert response.status_code == 400
    assert "The period starts after it ends." in response.get_data(as_text=True)
    assert admin.get("/admin/rollout/people?stage=nowhere").status_code == 400


def test_employees_cannot_see_the_rollout(seeded, auth, client):
    auth.login("alice@example.com")
    for path in ("/admin/rollout", "/admin/rollout/stuck", "/admin/rollout/people"):
        assert client.get(path).status_code == 403


def test_opening_a_link_marks_it_opened_before_sign_in(seeded, client):
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        invitation, token = invitations.invite(alice, actor=None, sent_by=InvitationSender.SYSTEM)
        db.session.commit()
        invitation_id = invitation.id
    assert client.get(f"/go/{token}").status_code == 302
    with seeded.app_context():
        assert db.session.get(Invitation, invitation_id).opened_at is not None


def test_stuck_list_says_why_and_offers_the_fix(rollout, helpdesk):
    html = helpdesk.get("/admin/rollout/stuck").get_data(as_text=True)
    assert "Fell back to Device Enrollment" in html
    assert "No Managed Apple ID" in html
    assert "Fix the Managed Apple ID" in html
    for reason in ("conflict", "fallback", "started", "expired", "waiting"):
        page = helpdesk.get(f"/admin/rollout/stuck?reason={reason}")
        assert page.status_code == 200
    assert helpdesk.get("/admin/rollout/stuck?reason=bored").status_code == 400


def _stuck_ids(app, limit: int) -> list[int]:
    from portal.rollout import stuck

    with app.app_context():
        query = stuck.stuck_query(now=utcnow(), settings=stuck.StuckSettings(), reason="expired")
        return [row[0].id for row in db.session.execute(query.limit(limit))]


def test_bulk_resend_respects_the_rate_limit_and_is_audited(rollout, helpdesk, seeded):
    ids = _stuck_ids(seeded, 4)
    assert len(ids) == 4
    limited = ids[0]
    with seeded.app_context():
        person = db.session.get(User, limited)
        for _ in range(seeded.config["INVITATION_RESEND_LIMIT"]):
            invitations.invite(person, actor=None, sent_by=InvitationSender.SYSTEM)
        db.session.commit()
        before = db.session.scalar(
            sa.select(sa.func.count(Invitation.id)).where(Invitation.user_id.in_(ids))
        )
    token = csrf_token(helpdesk, "/admin/rollout/stuck")
    response = helpdesk.post(
        "/admin/rollout/stuck/resend",
        data={"csrf_token": token, "user_id": [str(i) for i in ids], "scope": "selected"},
    )
    assert response.status_code == 303
    job_url = response.headers["Location"]
    page = helpdesk.get(job_url).get_data(as_text=True)
    assert "0 of 4 people handled" in page
    job_id = int(job_url.rsplit("/", 1)[1])
    fragment = helpdesk.post(
        f"/admin/rollout/jobs/{job_id}/step", headers={**HX, "X-CSRFToken": token}
    ).get_data(as_text=True)
    assert "Finished: 4 of 4 people handled." in fragment
    assert "Sent: 3" in fragment
    assert "too many invitations in the last hour" in fragment
    with seeded.app_context():
        after = db.session.scalar(
            sa.select(sa.func.count(Invitation.id)).where(Invitation.user_id.in_(ids))
        )
        assert after == before + 3
        resent = db.session.scalars(
            sa.select(AuditEvent.target_id).where(
                AuditEvent.action.in_(("invitation.sent", "invitation.resent")),
                AuditEvent.channel == "web",
            )
        ).all()
        assert {str(i) for i in ids[1:]} <= set(resent)
        finished = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "rollout.bulk_resend_finished")
        )
        assert finished.after == {"sent": 3, "rate_limited": 1, "not_invitable": 0, "missing": 0}
        assert db.session.get(BulkJob, job_id).finished_at is not None


def test_bulk_resend_works_through_large_selections_a_slice_at_a_time(rollout, admin, seeded):
    token = csrf_token(admin, "/admin/rollout/stuck")
    response = admin.post(
        "/admin/rollout/stuck/resend",
        data={"csrf_token": token, "scope": "all", "reason": "waiting"},
    )
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with seeded.app_context():
        total = len(db.session.get(BulkJob, job_id).user_ids)
    assert total > 25
    steps = 0
    while True:
        fragment = admin.post(
            f"/admin/rollout/jobs/{job_id}/step", headers={**HX, "X-CSRFToken": token}
        ).get_data(as_text=True)
        steps += 1
        if "Finished" in fragment:
            break
        assert f"of {total} people handled" in fragment and "hx-post" in fragment
    assert steps == -(-total // 25)


def test_bulk_resend_of_nobody_is_refused(rollout, admin):
    token = csrf_token(admin, "/admin/rollout/stuck")
    response = admin.post(
        "/admin/rollout/stuck/resend", data={"csrf_token": token, "scope": "selected"}
    )
    assert response.status_code == 303
    assert "Select at least one person." in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_another_helpdesk_persons_job_is_not_found(rollout, admin, seeded):
    with seeded.app_context():
        helen = db.session.scalar(sa.select(User).where(User.email == "helen@example.com"))
        job = BulkJob(actor_id=helen.id, user_ids=[1])
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    # Admins may look at anyone's job; another helpdesk member may not.
    assert admin.get(f"/admin/rollout/jobs/{job_id}").status_code == 200


def test_dashboard_shows_a_recent_count_and_counts_again_when_asked(rollout, admin, app):
    app.config["ROLLOUT_FUNNEL_CACHE_SECONDS"] = 60
    first = admin.get("/admin/rollout").get_data(as_text=True)
    assert 'id="counted-at"' in first and "count=again" in first
    with app.app_context():
        org_id = db.session.scalar(sa.select(User.org_id).where(User.email == "adam@example.com"))
        newcomer = User(org_id=org_id, email="newcomer@example.com", display_name="Newcomer")
        db.session.add(newcomer)
        db.session.flush()
        invitations.invite(newcomer, actor=None, sent_by=InvitationSender.SYSTEM)
        db.session.commit()
    # Within the minute the same numbers, as counted then; the CSV says the same.
    assert _numbers(admin.get("/admin/rollout").get_data(as_text=True)) == _numbers(first)
    csv_rows = admin.get("/admin/rollout/export/funnel.csv").get_data(as_text=True)
    assert csv_rows.splitlines()[1].startswith(f"all,,,{_numbers(first)[0]},")
    again = _numbers(admin.get("/admin/rollout?count=again").get_data(as_text=True))
    assert again[0] == _numbers(first)[0] + 1
    assert _numbers(admin.get("/admin/rollout").get_data(as_text=True))[0] == again[0]
