"""The browser's own favicon request neither fails nor rewrites the session cookie."""

from __future__ import annotations


def _cookie(response) -> str:
    """The session cookie's value the response set."""
    header = response.headers.get("Set-Cookie", "")
    return header.split(";", 1)[0].partition("=")[2]


def _late(app, cookie: str, path: str):
    """A request the browser sent earlier, with the cookie it had then."""
    other = app.test_client()
    other.set_cookie("portal_session", cookie)
    return other.get(path)


def test_the_favicon_is_served_and_named_by_the_pages(seeded, client):
    page = client.get("/login").get_data(as_text=True)
    assert 'rel="icon" type="image/svg+xml"' in page
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert icon.data.startswith(b"<svg")


def test_a_favicon_request_sent_before_a_language_switch_does_not_undo_it(seeded, client):
    first = client.get("/login")
    before_switch = _cookie(first)  # what the browser sends with its favicon request
    assert before_switch
    token = client.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1]
    switched = client.post("/locale", data={"locale": "fr", "csrf_token": token.split('"')[0]})
    assert switched.status_code == 302
    # The favicon answer comes back after the switch, from a request carrying the old cookie.
    late = _late(seeded, before_switch, "/favicon.ico")
    assert late.status_code == 200
    assert "Set-Cookie" not in late.headers
    assert "Se connecter" in client.get("/login").get_data(as_text=True)


def test_no_anonymous_answer_rewrites_a_visitor_s_session(seeded, client):
    """Any page answered with the cookie of a moment ago leaves the cookie alone (a 404
    here), so requests of one page in flight never undo each other's changes."""
    cookie = _cookie(client.get("/login"))
    for path in ("/nothing-here", "/login", "/healthz"):
        late = _late(seeded, cookie, path)
        assert late.status_code in (200, 404)
        assert "Set-Cookie" not in late.headers, path
