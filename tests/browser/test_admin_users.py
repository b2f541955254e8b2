"""Admin and helpdesk users pages in a real browser."""

import re

from playwright.sync_api import expect


def _mark(page):
    """Tag the window: the tag survives htmx swaps but not a page load."""
    page.evaluate("window.portalTestMark = 'kept'")


def _still_marked(page) -> bool:
    return page.evaluate("window.portalTestMark") == "kept"


def test_admin_searches_the_users_list_without_reload(page, live_server, sign_in):
    sign_in(page, "adam@example.com")
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    rows = page.locator("#user-rows")
    expect(rows).to_contain_text("Bob Durand")
    _mark(page)
    page.get_by_label("Search by name or e-mail").fill("ali")
    expect(rows).to_contain_text("Alice Martin")
    expect(rows).not_to_contain_text("Bob Durand")
    expect(rows).to_contain_text("al***@appleid.example.com")
    expect(page).to_have_url(re.compile(r"q=ali"))
    assert _still_marked(page)


def test_admin_opens_alice_and_previews_decisions(page, live_server, sign_in):
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/admin/users")
    page.get_by_role("link", name="Alice Martin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alice Martin")
    expect(page.locator("#effective-setting")).to_contain_text("BYOD – User Enrollment")
    expect(page.locator("dl.facts")).to_contain_text("al***@appleid.example.com")
    _mark(page)
    preview = page.locator("#decision-preview")
    preview.get_by_label("Platform").select_option("macos")
    preview.get_by_label("OS version").fill("13")
    preview.get_by_role("button", name="Preview").click()
    expect(preview.locator(".decision-summary")).to_have_text("User Enrollment, profile-based")
    expect(preview.locator(".checks .badge.ok")).to_have_count(6)

    preview = page.locator("#decision-preview")
    preview.get_by_label("Platform").select_option("ios")
    preview.get_by_label("OS version").fill("12.4")
    preview.get_by_role("button", name="Preview").click()
    expect(preview.locator(".decision-summary")).to_have_text("Device Enrollment, profile-based")
    expect(preview).to_contain_text("iOS 12.4 is too old: User Enrollment needs iOS 13.0")
    expect(preview.locator(".checks .badge.warn")).to_have_count(1)
    assert _still_marked(page)


def test_a_bad_os_version_shows_the_error_by_the_field(page, live_server, sign_in):
    sign_in(page, "helen@example.com")
    page.goto(live_server + "/admin/users")
    page.get_by_role("link", name="Bob Durand").click()
    preview = page.locator("#decision-preview")
    preview.get_by_label("OS version").fill("eighteen")
    preview.get_by_role("button", name="Preview").click()
    expect(page.locator("#os_version-error")).to_contain_text("numbers and dots")
    expect(page.locator("#os_version")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#decision-result")).to_have_count(0)


def test_admin_adds_a_local_user(page, live_server, sign_in):
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/admin/users")
    page.get_by_role("link", name="Add user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add user")
    page.get_by_label("E-mail").fill("zoe.martin@example.com")
    page.get_by_label("Name").fill("Zoé Martin")
    page.get_by_label("Role").select_option("employee")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zoé Martin")
    expect(page.locator("#alerts")).to_contain_text("Zoé Martin was added.")
    expect(page.locator("dl.facts")).to_contain_text("zo***@appleid.example.com")
    expect(page.locator("main")).not_to_contain_text("zoe.martin@appleid.example.com")


def test_adding_a_duplicate_shows_the_error(page, live_server, sign_in):
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/admin/users/new")
    page.get_by_label("E-mail").fill("bob@example.com")
    page.get_by_label("Name").fill("Another Bob")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#email-error")).to_have_text(
        "Another account already uses this e-mail address."
    )


def test_helpdesk_sees_no_add_user_control(page, live_server, sign_in):
    sign_in(page, "helen@example.com")
    page.goto(live_server + "/admin/users")
    expect(page.locator("#user-rows")).to_contain_text("Alice Martin")
    expect(page.get_by_role("link", name="Add user")).to_have_count(0)
    expect(page.get_by_role("button", name="Add user")).to_have_count(0)


def test_users_pages_fit_a_phone_screen(page_factory, live_server, sign_in):
    page = page_factory(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    sign_in(page, "adam@example.com")
    for path in ["/admin/users", "/admin/users/new"]:
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth > window.innerWidth") is False
    page.goto(live_server + "/admin/users")
    page.get_by_role("link", name="Alice Martin").click()
    expect(page.locator("#decision-preview")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth > window.innerWidth") is False
    button = page.locator("#decision-preview button[type=submit]").bounding_box()
    checkbox = page.locator("#decision-preview label.checkbox").bounding_box()
    assert button["height"] >= 44 and checkbox["height"] >= 44
