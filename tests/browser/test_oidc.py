"""Signing in with the company account in Chromium, through a real OpenID provider."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from portal import demo
from tests.support.ldap_server import free_port
from tests.support.oidc_provider import OidcProvider


@pytest.fixture(scope="module")
def provider_and_port(tmp_path_factory):
    port = free_port()
    provider = OidcProvider(
        tmp_path_factory.mktemp("oidc-browser"), [f"http://127.0.0.1:{port}/login/oidc/callback"]
    )
    provider.start()
    yield provider, port
    provider.stop()


@pytest.fixture
def oidc_server(app_factory, provider_and_port):
    provider, port = provider_and_port
    app = app_factory(
        **provider.settings(OIDC_BUTTON_LABEL="Sign in with Example Corp"),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
    )
    with app.app_context():
        demo.seed("testing")
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", provider
    server.shutdown()
    thread.join(5)


def _sign_in_at_provider(page, login: str) -> None:
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def test_company_sign_in_resumes_the_enrollment_page(page, oidc_server):
    base, provider = oidc_server
    page.goto(base + "/enroll")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fenroll$|/login\?next=/enroll$"))
    page.get_by_role("link", name="Sign in with Example Corp").click()
    expect(page).to_have_url(re.compile("^" + re.escape(provider.issuer) + "/interaction/"))
    _sign_in_at_provider(page, "alice@example.com")

    expect(page).to_have_url(base + "/enroll")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(base + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alice Martin")


def test_company_sign_in_lands_on_home_without_next(page, oidc_server):
    base, _provider = oidc_server
    page.goto(base + "/login")
    page.get_by_role("link", name="Sign in with Example Corp").click()
    _sign_in_at_provider(page, "bob@example.com")
    expect(page).to_have_url(base + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Bob Durand")


def test_unknown_person_sees_a_clear_page_and_stays_signed_out(page, oidc_server):
    base, _provider = oidc_server
    page.goto(base + "/login")
    page.get_by_role("link", name="Sign in with Example Corp").click()
    _sign_in_at_provider(page, "stranger@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("No portal account for you yet")
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_open_redirect_through_next_is_impossible(page, oidc_server):
    base, _provider = oidc_server
    page.goto(base + "/login?next=//evil.example/phish")
    page.get_by_role("link", name="Sign in with Example Corp").click()
    _sign_in_at_provider(page, "alice@example.com")
    expect(page).to_have_url(base + "/")


@pytest.mark.parametrize(
    ("locale", "viewport", "heading"),
    [
        ("en-US", {"width": 375, "height": 740}, "This account belongs to someone else"),
        ("fr-FR", {"width": 1280, "height": 800}, "Ce compte appartient à quelqu’un d’autre"),
    ],
    ids=["phone-en", "laptop-fr"],
)
def test_a_reused_address_is_refused_with_a_clear_page(
    page_factory, oidc_server, tmp_path, locale, viewport, heading
):
    base, provider = oidc_server
    provider.give_address("subject-first", "alice@example.com")
    provider.give_address("subject-newcomer", "alice@example.com")
    try:
        first = page_factory(locale=locale, viewport=viewport)
        first.goto(base + "/login")
        first.locator("a[href^='/login/oidc']").click()
        _sign_in_at_provider(first, "subject-first")
        expect(first).to_have_url(base + "/")

        newcomer = page_factory(locale=locale, viewport=viewport)
        newcomer.goto(base + "/login")
        newcomer.locator("a[href^='/login/oidc']").click()
        _sign_in_at_provider(newcomer, "subject-newcomer")
        expect(newcomer.get_by_role("heading", level=1)).to_have_text(heading)
        assert newcomer.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        newcomer.screenshot(path=str(tmp_path / f"reused-address-{locale}.png"), full_page=True)
        newcomer.goto(base + "/")
        expect(newcomer).to_have_url(re.compile(r"/login"))
    finally:
        provider.give_address("subject-first", None)
        provider.give_address("subject-newcomer", None)
