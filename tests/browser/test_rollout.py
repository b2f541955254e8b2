"""The rollout pages in a real browser: the dashboard and its chart's table, the people
behind a count, the stuck list's bulk resend with its progress; phone and laptop widths."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.rollout.seeding import seed_rollout

# A folder to keep screenshots in while working on the pages.
SHOTS = os.environ.get("ROLLOUT_SCREENSHOTS")


@pytest.fixture
def rollout(seeded):
    with seeded.app_context():
        return seed_rollout(people=150, invitations=200, devices=100)


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_dashboard_funnel_chart_and_its_table(page, live_server, sign_in, rollout):
    sign_in(page, "helen@example.com")
    page.get_by_role("link", name="Rollout").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rollout")
    since = (rollout.now.date() - timedelta(days=59)).isoformat()
    page.get_by_label("First day").fill(since)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"from=" + since))
    funnel = page.locator("table.funnel")
    invited = funnel.get_by_role("row", name=re.compile("^Invited"))
    expect(invited).to_be_visible()
    # The chart is an image with a text alternative; its numbers are in the table beside it.
    chart = page.get_by_role("img", name="Enrollments over time")
    expect(chart).to_be_visible()
    table = page.locator("#chart-table")
    expect(table.locator("caption")).to_have_text("Devices enrolled per day (UTC)")
    values = [int(v) for v in table.locator("tbody td").all_inner_texts()]
    assert len(values) == 60
    total = int(table.locator("tfoot td").inner_text())
    assert sum(values) == total > 0
    # Each bar names its day and number (narrow bars in their tooltip only).
    bars = page.locator("svg .bar rect title").all_text_contents()
    assert len(bars) == 60
    assert sum(int(b.rsplit(": ", 1)[1]) for b in bars) == total
    _shot(page, "rollout-laptop")
    # A count leads to the people behind it.
    count = invited.get_by_role("link").first
    number = count.inner_text()
    count.click()
    expect(page.locator("#people-rows [role=status]")).to_contain_text(f"{number} people")
    expect(page.locator("#people-rows table")).to_contain_text("Rollout Person")


def test_dashboard_fits_a_phone_in_french(page_factory, live_server, sign_in, rollout):
    page = page_factory(locale="fr-FR", viewport={"width": 375, "height": 800})
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/admin/rollout")
    expect(page.get_by_role("heading", level=1)).to_have_text("Déploiement")
    expect(page.locator("#chart-table caption")).to_have_text("Appareils inscrits par jour (UTC)")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow
    _shot(page, "rollout-phone-fr")


def test_stuck_list_bulk_resend_shows_progress(page, live_server, sign_in, rollout, seeded):
    from portal.extensions import db
    from portal.invitations import service as invitations
    from portal.models import InvitationSender, User, utcnow
    from portal.rollout import stuck

    # The first person listed as "Link expired" was sent too many invitations this hour.
    with seeded.app_context():
        query = stuck.stuck_query(now=utcnow(), settings=stuck.StuckSettings(), reason="expired")
        first = db.session.execute(query.limit(1)).first()[0]
        person = db.session.get(User, first.id)
        earlier = utcnow() - timedelta(minutes=30)
        for _ in range(seeded.config["INVITATION_RESEND_LIMIT"]):
            invitation, _token = invitations.invite(
                person, actor=None, sent_by=InvitationSender.SYSTEM, now=earlier
            )
        # Their newest link is already expired: still stuck, and still at the hourly limit.
        invitation.expires_at = earlier + timedelta(minutes=1)
        db.session.commit()
        limited_name = person.display_name
    sign_in(page, "helen@example.com")
    page.goto(live_server + "/admin/rollout")
    page.get_by_role("link", name="Stuck people").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stuck people")
    page.get_by_role("link", name=re.compile(r"^Link expired \(\d+\)")).click()
    expect(page.locator("#stuck-rows")).to_contain_text("Resend a new link.")
    _shot(page, "stuck-laptop")
    boxes = page.locator("#stuck-rows input[type=checkbox]")
    assert boxes.count() >= 3
    for i in range(2):
        boxes.nth(i).check()
    page.get_by_label(f"Select {limited_name}").check()
    page.get_by_role("button", name="Resend to the selected people").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bulk resend")
    expect(page.locator(".job [role=status]")).to_have_text("Finished: 3 of 3 people handled.")
    expect(page.locator(".job progress")).to_have_attribute("value", "3")
    expect(page.locator(".job-summary")).to_contain_text("Sent: 2")
    expect(page.locator(".job")).to_contain_text(limited_name)
    expect(page.locator(".job")).to_contain_text("too many invitations in the last hour")
    _shot(page, "bulk-resend")
