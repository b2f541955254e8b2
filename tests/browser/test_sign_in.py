"""Signing in with a demo account in a real browser, in English and in French."""

import re

from playwright.sync_api import expect


def test_alice_signs_in_and_out_in_english(page, live_server, sign_in):
    sign_in(page, "alice@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alice Martin")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def test_alice_signs_in_in_french_from_the_browser_language(page_factory, live_server, sign_in):
    page = page_factory(locale="fr-FR")
    page.goto(live_server + "/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    sign_in(page, "alice@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour, Alice Martin")


def test_language_switch_turns_the_page_french(page, live_server, sign_in):
    page.goto(live_server + "/login")
    page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    sign_in(page, "alice@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour, Alice Martin")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alice Martin")


def test_wrong_password_shows_the_error_next_to_the_field(page, live_server, sign_in):
    sign_in(page, "alice@example.com", "wrong-password")
    error = page.locator("#password-error")
    expect(error).to_have_text("That e-mail and password do not match an account.")
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")


def test_employee_sees_a_clear_page_above_her_role(page, live_server, sign_in):
    sign_in(page, "alice@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alice Martin")
    response = page.goto(live_server + "/admin/audit")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This page is not for your account")


def test_admin_filters_the_audit_log_without_reload(page, live_server, sign_in):
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/admin/audit")
    # Actions in words, chosen from a list.
    expect(page.locator("#audit-rows")).to_contain_text("Signed in")
    expect(page.locator("#audit-rows")).not_to_contain_text("auth.sign_in")
    page.get_by_label("Action", exact=True).select_option(label="Demo data loaded")
    expect(page.locator("#audit-rows")).to_contain_text("Demo data loaded")
    expect(page.locator("#audit-rows")).not_to_contain_text("Signed in")
    expect(page).to_have_url(re.compile(r"action=demo\.seed"))


def test_login_page_fits_a_phone_screen(page_factory, live_server):
    page = page_factory(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page.goto(live_server + "/login")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False
    height = page.locator("main form button[type=submit]").bounding_box()["height"]
    assert height >= 44
