"""The bell tells the truth (a missing push certificate), and the background jobs page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.outbox import service as outbox
from portal.worker.runner import BackgroundWorker

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("locale", "width", "texts"),
    [
        ("en-US", 375, ("Notifications", "No MDM push certificate is uploaded", "Fix it")),
        ("fr-FR", 1280, ("Notifications", "Aucun certificat push MDM", "Corriger")),
    ],
)
def test_the_bell_shows_the_missing_push_certificate(
    seeded, page_factory, live_server, sign_in, tmp_path, locale, width, texts
):
    heading, message, fix = texts
    page = page_factory(locale=locale, viewport={"width": width, "height": 800})
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/")
    bell = page.locator("#notification-bell")
    expect(bell.locator(".badge")).not_to_have_text("0")
    menu = page.locator(".menu-button")
    if menu.is_visible():  # on a phone the bell is in the menu
        menu.click()
    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    item = page.locator('[data-code="push_certificate_missing"]')
    expect(item).to_contain_text(message)
    page.screenshot(path=str(tmp_path / f"notifications-{locale}-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    item.get_by_role("link", name=fix).click()
    expect(page.locator("#push-item")).to_be_visible()


def test_the_jobs_page_shows_the_worker_and_runs_a_job_on_request(
    seeded, page_factory, live_server, sign_in, tmp_path
):
    with seeded.app_context():
        outbox.enqueue(recipient="bob@example.com", subject="Link", body_text="…")
        db.session.commit()
    page = page_factory(viewport={"width": 1280, "height": 900})
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/admin/outbox")
    expect(page.locator("#worker-stopped")).to_be_visible()
    page.locator("#worker-stopped").get_by_role("link", name="Fix it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Background jobs")
    expect(page.locator("#no-worker")).to_be_visible()
    expect(page.locator("#job-expire_enrollments")).to_contain_text("Never")
    with seeded.app_context():
        worker = BackgroundWorker(seeded, None, name="browser-test")
        worker.heartbeat(force=True)
        worker.periodic(force=True)
    page.reload()
    expect(page.locator("#no-worker")).to_have_count(0)
    expect(page.locator("#workers")).to_contain_text("browser-test")
    row = page.locator("#job-expire_enrollments")
    expect(row).to_contain_text("OK")
    expect(row).to_contain_text("0 unfinished enrollments expired")
    row.get_by_role("button", name="Run “Expire unfinished enrollments” now").click()
    expect(page.get_by_text("will run within a few seconds")).to_be_visible()
    expect(page.locator("#job-expire_enrollments")).to_contain_text("at the next worker pass")
    page.screenshot(path=str(tmp_path / "jobs.png"), full_page=True)
    phone = page_factory(viewport={"width": 375, "height": 800})
    sign_in(phone, "adam@example.com")
    phone.goto(live_server + "/admin/jobs")
    phone.screenshot(path=str(tmp_path / "jobs-375.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
