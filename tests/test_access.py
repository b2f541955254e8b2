"""Every route declares who may call it, and the rule holds for every role."""

import pytest

from portal.access import EXTERNAL, PUBLIC, access_of
from portal.models import Role


def test_every_route_declares_its_access(app):
    missing = [
        rule.endpoint for rule in app.url_map.iter_rules() if access_of(app, rule.endpoint) is None
    ]
    assert missing == [], f"routes without an access rule: {missing}"


def _role_routes(app):
    for rule in app.url_map.iter_rules():
        access = access_of(app, rule.endpoint)
        if access in (PUBLIC, EXTERNAL) or "GET" not in rule.methods or rule.arguments:
            continue
        yield rule.rule, access


# Not pages: a download that needs query parameters, and the end of a device's web sign-in
# (308 or 403 by the account's decision). tests/mdm/ covers their answers for each role.
NOT_PAGES = {"/enroll/profile", "/mdm/enroll/auth"}

ACCOUNTS = {
    Role.EMPLOYEE: "alice@example.com",
    Role.HELPDESK: "helen@example.com",
    Role.ADMIN: "adam@example.com",
}


@pytest.mark.parametrize("role", list(Role))
def test_role_routes_answer_by_role(seeded, auth, client, role):
    auth.login(ACCOUNTS[role])
    for path, needed in _role_routes(seeded):
        if path in NOT_PAGES:
            continue
        status = client.get(path).status_code
        expected = 200 if role.includes(needed) else 403
        assert status == expected, (path, role, status)


def test_anonymous_is_sent_to_sign_in(seeded, client):
    for path, _needed in _role_routes(seeded):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_page_above_ones_role_gets_a_clear_403(seeded, auth, client):
    auth.login("alice@example.com")
    response = client.get("/admin/audit")
    assert response.status_code == 403
    assert "This page is not for your account" in response.get_data(as_text=True)


def test_htmx_request_when_signed_out_redirects_the_browser(seeded, client):
    response = client.get("/admin/audit", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_undeclared_route_is_closed(app_factory):
    app = app_factory()

    @app.get("/forgotten")
    def forgotten():
        return "secret"

    assert app.test_client().get("/forgotten").status_code == 403
