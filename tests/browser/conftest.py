"""A live server and headless Chromium (Debian's package), driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    for path in CHROMIUM_PATHS:
        if shutil.which(path):
            return path
    return None


@pytest.fixture(scope="session")
def browser():
    path = _chromium()
    if path is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the browser tests")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(seeded):
    """The seeded app served on a free port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, seeded, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture
def page_factory(browser):
    contexts = []

    def factory(locale: str = "en-US", **options):
        context = browser.new_context(locale=locale, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(page_factory):
    return page_factory()


@pytest.fixture
def sign_in(live_server):
    """Fill and send the sign-in form, in whatever language the page shows."""

    def sign_in(page, email: str, password: str = "demo-password") -> None:
        page.goto(live_server + "/login")
        page.locator("input[name=email]").fill(email)
        page.locator("input[name=password]").fill(password)
        page.locator("main form button[type=submit]").click()

    return sign_in
