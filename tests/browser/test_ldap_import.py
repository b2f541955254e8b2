"""An admin invites a whole LDAP group from the directory, in Chromium."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from portal import demo
from tests.support.ldap_server import start_server


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("slapd-browser"))
    yield server
    server.stop()


@pytest.fixture
def ldap_server(app_factory, slapd):
    app = app_factory(**slapd.settings())
    with app.app_context():
        demo.seed("testing")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def _sign_in_as_admin(page, base):
    page.goto(base + "/login")
    page.locator("input[name=email]").fill("adam@example.com")
    page.locator("input[name=password]").fill("demo-password")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(base + "/")


def test_admin_imports_a_group_from_ldap(page, ldap_server):
    _sign_in_as_admin(page, ldap_server)
    page.get_by_role("link", name="Invite from LDAP").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite users from LDAP")
    page.get_by_label("Search the directory").fill("staff")
    page.get_by_label("Groups").check()
    page.get_by_role("button", name="Search").click()
    group = page.get_by_label(re.compile("Mobile Staff"))
    expect(group).to_be_visible()
    group.check()
    page.get_by_role("button", name="Import the selected").click()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.get_by_text("2 accounts created")).to_be_visible()
    expect(page.get_by_text("1 groups imported or synced")).to_be_visible()


def test_admin_picks_people_at_375px(page_factory, ldap_server):
    page = page_factory(viewport={"width": 375, "height": 800})
    _sign_in_as_admin(page, ldap_server)
    page.goto(ldap_server + "/admin/ldap")
    page.get_by_label("Search the directory").fill("jane")
    page.get_by_role("button", name="Search").click()
    person = page.get_by_label("Jane Doe")
    expect(person).to_be_visible()
    person.check()
    page.get_by_role("button", name="Import the selected").click()
    expect(page.get_by_text("1 accounts created")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375


def test_sign_in_sources_page_makes_a_token_and_previews_ids(page, ldap_server):
    _sign_in_as_admin(page, ldap_server)
    page.get_by_role("link", name="Sign-in sources").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in sources")
    page.get_by_role("button", name="Test the connection").click()
    expect(page.get_by_text(re.compile(r"Connected\. 3 people"))).to_be_visible()
    page.get_by_role("button", name="Create a token").click()
    token = page.get_by_label("New token")
    expect(token).to_have_value(re.compile(r"^scim_"))
    expect(page.get_by_role("button", name="Rotate the token")).to_be_visible()
    page.get_by_label("the user principal name (UPN)").check()
    page.get_by_label("Sample UPN").fill("JDoe@corp.example.com")
    expect(page.locator("#apple-id-preview")).to_contain_text("jdoe@appleid.corp.example.com")
    page.get_by_label("Put them in the appleid. subdomain").uncheck()
    expect(page.locator("#apple-id-preview")).to_contain_text("jdoe@corp.example.com")
