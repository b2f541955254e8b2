"""The Apple setup checklist, from a fresh organization to complete, in a real browser."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Organization
from tests.apple import helpers

pytestmark = pytest.mark.browser


@pytest.fixture
def fresh_org(seeded):
    with seeded.app_context():
        org = db.session.scalar(sa.select(Organization))
        org.abm_linked = False
        org.abm_organization_name = org.abm_organization_id = None
        org.vpp_token_organization = None
        org.vpp_token_expires_at = None
        db.session.commit()


def test_an_admin_completes_the_checklist(fresh_org, page_factory, live_server, sign_in, tmp_path):
    page = page_factory(viewport={"width": 375, "height": 800})
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/admin/apple")
    expect(page.get_by_role("heading", level=1)).to_have_text("Apple setup")
    expect(page.locator("#abm-item .badge")).to_have_text("Missing")
    expect(page.locator("#token-item .badge")).to_have_text("Missing")
    expect(page.locator("#push-item .badge")).to_have_text("Missing")
    expect(page.locator("#criterion-reason")).to_be_visible()

    page.get_by_label("Organization name in Apple Business Manager").fill("Example Corp")
    page.get_by_label("Organization ID").fill("ABM-0042")
    page.get_by_role("button", name="Save the link").click()
    expect(page.get_by_text("Apple Business Manager is linked.")).to_be_visible()
    expect(page.locator("#abm-item .badge")).to_have_text("Done")

    token = tmp_path / "Example.vpptoken"
    token.write_bytes(helpers.vpptoken("Example Corp"))
    page.get_by_label("Location token (.vpptoken file)").set_input_files(token)
    page.get_by_role("button", name="Upload the token").click()
    expect(page.get_by_text("The location token is saved.")).to_be_visible()
    expect(page.locator("#token-item .badge")).to_have_text("Done")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download the signing request").click()
    request = tmp_path / "request.csr"
    info.value.save_as(request)
    topic = helpers.new_topic()
    certificate = tmp_path / "push.pem"
    certificate.write_bytes(helpers.from_request(request.read_bytes(), topic))
    page.get_by_label("Push certificate from Apple (.pem, .cer or .p12)").set_input_files(
        certificate
    )
    page.get_by_role("button", name="Upload the certificate").click()
    expect(page.get_by_text("The push certificate is saved")).to_be_visible()
    expect(page.locator("#push-item .badge")).to_have_text("Done")
    expect(page.locator("#push-item code")).to_have_text(topic)
    expect(page.get_by_text("Everything is set up")).to_be_visible()
    expect(page.locator("#criterion-reason")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_helpdesk_sees_the_checklist_read_only(page, live_server, sign_in):
    sign_in(page, "helen@example.com")
    page.goto(live_server + "/admin/apple")
    expect(page.locator("#abm-item .badge")).to_have_text("Done")
    expect(page.get_by_role("button", name="Upload the certificate")).to_have_count(0)


def test_the_bell_leads_to_the_notifications_and_their_fix(seeded, page, live_server, sign_in):
    from flask import current_app

    from portal.apple import vpp_token
    from portal.directory.service import organization

    with seeded.app_context():
        data = helpers.vpptoken("Example Corp", days=3)
        key = current_app.config["SECRET_KEY"]
        vpp_token.upload(None, organization(), data, secret_key=key)
        db.session.commit()
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/")
    bell = page.locator("#notification-bell")
    # The location token expiring, and no push certificate uploaded.
    expect(bell.locator(".badge")).to_have_text("2")
    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.get_by_text("The Apps and Books location token expires in 3 days.")).to_be_visible()
    page.locator('[data-code="vpp_token_expiring"]').get_by_role("link", name="Fix it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apple setup")
