"""Language, security headers, error pages."""

from tests.conftest import csrf_token


def test_browser_language_picks_french(seeded, client):
    body = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="fr">' in body
    assert "Se connecter" in body


def test_language_switch_is_remembered_on_the_account(seeded, auth, client, app):
    auth.login("alice@example.com")
    token = csrf_token(client, "/")
    response = client.post("/locale", data={"locale": "fr", "csrf_token": token, "next": "/"})
    assert response.status_code == 302
    assert "Bonjour" in client.get("/").get_data(as_text=True)
    # A new browser signing in as alice gets French too.
    other = app.test_client()
    token = csrf_token(other)
    other.post(
        "/login",
        data={"email": "alice@example.com", "password": "demo-password", "csrf_token": token},
    )
    assert "Bonjour" in other.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_language_switch_ignores_unknown_languages_and_foreign_next(seeded, client):
    token = csrf_token(client)
    response = client.post(
        "/locale", data={"locale": "xx", "csrf_token": token, "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_security_headers_on_every_page(seeded, client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_carry_no_inline_script(seeded, auth, client):
    auth.login("adam@example.com")
    for path in ["/", "/admin/audit", "/login"]:
        body = client.get(path).get_data(as_text=True)
        assert "<script>" not in body and "onclick=" not in body


def test_not_found_is_a_friendly_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_machine_paths_answer_json_errors(client):
    response = client.get("/healthz/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


def test_unexpected_error_is_a_friendly_500(app_factory):
    app = app_factory()
    from portal.access import public

    @app.get("/boom")
    @public
    def boom():
        raise RuntimeError("internal detail that must not leak")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong on our side" in body
    assert "internal detail" not in body and "Traceback" not in body


def test_htmx_errors_are_fragments_for_the_alert_region(seeded, auth, client):
    auth.login("alice@example.com")
    response = client.get("/admin/audit", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#alerts"
    assert "<html" not in response.get_data(as_text=True)


def test_audit_log_fragment_varies_on_htmx(seeded, auth, client):
    auth.login("adam@example.com")
    page = client.get("/admin/audit")
    fragment = client.get("/admin/audit?action=auth", headers={"HX-Request": "true"})
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in page.get_data(as_text=True)
    body = fragment.get_data(as_text=True)
    assert body.startswith('<div id="audit-rows"') and "Signed in" in body
