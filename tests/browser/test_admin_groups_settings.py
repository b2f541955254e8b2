"""Groups and enrollment settings in a real browser: htmx updates, drag and drop, keyboard."""

import re

from playwright.sync_api import expect

BYOD = "BYOD – User Enrollment"


def mark_page(page):
    """Tag the loaded document, so a test can tell whether the page was reloaded."""
    page.evaluate("window.notReloaded = true")


def assert_not_reloaded(page):
    assert page.evaluate("window.notReloaded === true")


def settings_order(page):
    return page.locator("#settings-list .setting-name a")


def test_admin_creates_renames_fills_and_deletes_a_group(page, live_server, sign_in):
    sign_in(page, "adam@example.com")
    page.get_by_role("link", name="Groups").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Groups")

    page.get_by_label("Name", exact=True).fill("Sales")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Group: Sales")
    expect(page.locator("#alerts")).to_contain_text("Group “Sales” created.")

    page.get_by_label("Name", exact=True).fill("Sales EMEA")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Group: Sales EMEA")

    # Add bob from the suggestions, without a page reload.
    mark_page(page)
    members = page.locator("#group-members")
    page.get_by_label("Add a person").press_sequentially("durand", delay=20)
    page.get_by_role("button", name="Add Bob Durand").click()
    expect(members).to_contain_text("Bob Durand added to the group.")
    expect(members.locator("tbody tr")).to_have_count(1)
    expect(members.locator("tbody")).to_contain_text("bob@example.com")
    expect(page.get_by_role("heading", name="Members (1)")).to_be_visible()
    assert_not_reloaded(page)

    page.get_by_role("button", name="Remove Bob Durand").click()
    expect(members).to_contain_text("Bob Durand removed from the group.")
    expect(members).to_contain_text("This group has no members yet.")
    assert_not_reloaded(page)

    # An exact e-mail, typed and sent with Enter; then an unknown one.
    page.get_by_label("Add a person").fill("bob@example.com")
    page.get_by_label("Add a person").press("Enter")
    expect(members.locator("tbody")).to_contain_text("bob@example.com")
    page.get_by_label("Add a person").fill("nobody@example.com")
    page.get_by_label("Add a person").press("Enter")
    expect(page.locator("#member-email-error")).to_have_text("No account has this e-mail address.")
    expect(page.get_by_label("Add a person")).to_have_attribute("aria-invalid", "true")
    assert_not_reloaded(page)

    page.get_by_role("link", name="Delete this group…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete the group “Sales EMEA”?")
    page.get_by_role("button", name="Delete group").click()
    # Deleted, with a few minutes to undo it.
    expect(page.get_by_role("heading", level=1)).to_have_text("The group “Sales EMEA” was deleted.")
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    page.get_by_role("link", name="All groups").click()
    expect(page).to_have_url(re.compile(r"/admin/groups$"))
    expect(page.locator("main table")).not_to_contain_text("Sales EMEA")


def test_admin_creates_a_setting_assigns_it_and_reorders_priorities(page, live_server, sign_in):
    sign_in(page, "adam@example.com")
    page.get_by_role("link", name="Enrollment settings").click()
    expect(settings_order(page)).to_have_text([BYOD, "Default"])

    page.get_by_role("link", name="New setting").click()
    page.get_by_label("Name", exact=True).fill("Contractors")
    page.get_by_label("User Enrollment").check()
    page.get_by_label("Company-owned").check()
    page.get_by_role("button", name="Create setting").click()
    # Company-owned with User Enrollment is refused next to the field.
    expect(page.locator("#device_owner-error")).to_contain_text(
        "a company-owned device uses Device Enrollment"
    )
    page.get_by_label("Device Enrollment").check()
    page.get_by_role("button", name="Create setting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Setting: Contractors")

    mark_page(page)
    page.get_by_label("Assign to group").select_option(label="User Enrollment")
    page.get_by_role("button", name="Assign", exact=True).click()
    groups = page.locator("#setting-groups")
    expect(groups).to_contain_text("Assigned to “User Enrollment”.")
    expect(groups.get_by_role("link", name="User Enrollment")).to_be_visible()
    assert_not_reloaded(page)

    page.get_by_role("link", name="All enrollment settings").click()
    expect(settings_order(page)).to_have_text([BYOD, "Contractors", "Default"])

    # Up/down buttons (htmx, no reload); the order survives a reload.
    mark_page(page)
    page.get_by_role("button", name="Move up: Contractors").click()
    expect(settings_order(page)).to_have_text(["Contractors", BYOD, "Default"])
    expect(page.locator("#settings-list")).to_contain_text("Priority order saved.")
    assert_not_reloaded(page)
    page.reload()
    expect(settings_order(page)).to_have_text(["Contractors", BYOD, "Default"])

    # Drag and drop: Contractors dropped on BYOD takes its place.
    page.locator("#settings-list li", has_text="Contractors").locator(
        "[data-reorder-handle]"
    ).drag_to(page.locator("#settings-list li", has_text=BYOD).locator(".setting-summary"))
    expect(settings_order(page)).to_have_text([BYOD, "Contractors", "Default"])
    expect(page.locator("#settings-list")).to_contain_text("Priority order saved.")
    page.reload()
    expect(settings_order(page)).to_have_text([BYOD, "Contractors", "Default"])

    # Keyboard: arrow keys on a handle move the setting; focus stays on its handle.
    handle = page.get_by_role("button", name="Reorder Contractors")
    handle.focus()
    handle.press("ArrowUp")
    expect(settings_order(page)).to_have_text(["Contractors", BYOD, "Default"])
    expect(page.get_by_role("button", name="Reorder Contractors")).to_be_focused()
    page.reload()
    expect(settings_order(page)).to_have_text(["Contractors", BYOD, "Default"])


def test_stale_settings_page_gets_a_clear_message_and_the_current_order(
    page_factory, live_server, sign_in
):
    first, second = page_factory(), page_factory()
    for tab in (first, second):
        sign_in(tab, "adam@example.com")
    second.goto(live_server + "/admin/settings/new")
    second.get_by_label("Name", exact=True).fill("Kiosks")
    second.get_by_role("button", name="Create setting").click()
    expect(second.get_by_role("heading", level=1)).to_have_text("Setting: Kiosks")
    first.goto(live_server + "/admin/settings")
    expect(settings_order(first)).to_have_text([BYOD, "Kiosks", "Default"])
    # Meanwhile the other tab deletes Kiosks: the first tab's buttons are now stale.
    second.get_by_role("link", name="Delete this setting…").click()
    second.get_by_role("button", name="Delete setting").click()
    first.get_by_role("button", name="Move up: Kiosks").click()
    expect(first.locator("#settings-list .alert-error")).to_contain_text(
        "The list of settings changed since this page was loaded"
    )
    expect(settings_order(first)).to_have_text([BYOD, "Default"])


def test_helpdesk_sees_groups_and_settings_read_only(page, live_server, sign_in):
    sign_in(page, "helen@example.com")
    page.get_by_role("link", name="Groups").click()
    expect(page.locator("main table")).to_contain_text("User Enrollment")
    expect(page.get_by_role("button", name="Create group")).to_have_count(0)
    page.get_by_role("link", name="User Enrollment", exact=True).click()
    expect(page.locator("#group-members")).to_contain_text("alice@example.com")
    expect(page.locator("main button")).to_have_count(0)
    page.get_by_role("link", name="Enrollment settings").click()
    expect(settings_order(page)).to_have_text([BYOD, "Default"])
    expect(page.locator("main button")).to_have_count(0)
    expect(page.locator("[draggable=true]")).to_have_count(0)


def test_settings_and_group_pages_fit_a_phone(page_factory, live_server, sign_in):
    page = page_factory(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    sign_in(page, "adam@example.com")
    for path in ("/admin/settings", "/admin/groups", "User Enrollment"):
        if path.startswith("/"):
            page.goto(live_server + path)
        else:
            page.get_by_role("link", name=path, exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(f"Group: {path}")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, path
    page.goto(live_server + "/admin/settings")
    for button in page.locator("#settings-list button").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44
