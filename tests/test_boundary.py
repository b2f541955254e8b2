"""The request boundary: bodies capped before they are read, unstorable characters refused,
and no page or fragment with personal data left in a cache.

NUL bytes are PostgreSQL's fault: run with DATABASE_URL pointing at PostgreSQL to see them
refused where they used to be a 500.
"""

from __future__ import annotations

import io
import json
import socket
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from portal.extensions import db
from portal.models import AuditEvent, Base, Device, EnrollmentType, Platform
from tests.conftest import csrf_token
from tests.devices.conftest import add_device

NUL_MESSAGE = "cannot be stored"
BIG = 64 * 1024 * 1024


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes that counts how much of it the server reads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def readinto(self, buffer) -> int:
        n = max(min(len(buffer), self.size - self.position), 0)
        buffer[:n] = b"a" * n
        self.position += n
        self.read_bytes += n
        return n


def rows() -> dict[str, int]:
    """How many rows each table holds (the audit log included)."""
    counts = {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }
    db.session.rollback()
    return counts


def big_post(client, path: str, method: str = "POST", **headers):
    stream = CountingStream(BIG)
    response = client.open(
        path,
        method=method,
        input_stream=stream,
        content_length=BIG,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    return response, stream


@pytest.mark.parametrize("path", ["/login", "/slack/events", "/locale", "/admin/groups"])
def test_a_64_mb_body_is_answered_413_without_being_read(seeded, client, path):
    response, stream = big_post(client, path)
    assert response.status_code == 413
    assert stream.read_bytes == 0


def test_a_real_server_answers_413_after_the_headers_alone(app):
    """Over a socket: only the headers of a 64 MB POST are sent, and the answer comes."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock:
            sock.sendall(
                b"POST /login HTTP/1.1\r\nHost: portal\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\n\r\nemail=" % BIG
            )
            status_line = sock.recv(100).split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 413")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_413_takes_the_routes_form(seeded, client, auth):
    page, _ = big_post(client, "/login")
    assert page.mimetype == "text/html"
    assert "That is too large" in page.get_data(as_text=True)
    auth.login("adam@example.com")
    fragment, _ = big_post(client, "/admin/groups", **{"HX-Request": "true"})
    assert fragment.status_code == 413
    assert fragment.headers["HX-Retarget"] == "#alerts"
    assert "<html" not in fragment.get_data(as_text=True)
    scim, stream = big_post(client, "/scim/v2/Users")
    assert scim.status_code == 413 and stream.read_bytes == 0
    assert scim.get_json()["status"] == "413"
    device, stream = big_post(client, "/mdm/connect", method="PUT")
    assert (device.status_code, device.data, stream.read_bytes) == (413, b"", 0)


def test_the_cap_is_configurable_and_larger_for_uploads(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=1000, UPLOAD_MAX_CONTENT_LENGTH=5000)
    client = app.test_client()
    assert client.post("/login", data={"email": "x" * 2000}).status_code == 413
    assert client.post("/login", data={"email": "x" * 500}).status_code == 400  # CSRF
    # The upload route takes more (then wants its form's CSRF token).
    upload = client.post("/admin/apple/push", data={"x": "y" * 3000})
    assert upload.status_code == 400
    assert "form expired" in upload.get_data(as_text=True)
    assert client.post("/admin/apple/push", data={"x": "y" * 6000}).status_code == 413


def chunked_post(client, body: bytes):
    return client.open(
        "/login",
        method="POST",
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_beyond_the_cap_is_413(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=1000)
    client = app.test_client()
    assert chunked_post(client, b"email=" + b"x" * 5000).status_code == 413
    # At the cap, the form is read as usual (and wants its CSRF token).
    response = chunked_post(client, b"email=" + b"x" * 994)
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


@pytest.fixture
def admin(seeded, client, auth):
    auth.login("adam@example.com")
    return client


def _device(app) -> int:
    with app.app_context():
        device_id = add_device("alice@example.com", EnrollmentType.USER, Platform.IOS)
        db.session.get(Device, device_id).name = "Alice's iPhone"
        db.session.commit()
        return device_id


NUL_QUERIES = [
    "/admin/users?q=a%00b",
    "/admin/devices?q=%00",
    "/admin/audit?action=user%00.created",
    "/admin/groups/1/candidates?email=a%00",
    "/admin/ldap?q=%00",
    "/login?next=/%00",
    "/enroll?platform=ios%00",
]


@pytest.mark.parametrize("path", NUL_QUERIES)
def test_nul_in_a_query_string_is_a_clear_400(admin, seeded, path):
    with seeded.app_context():
        before = rows()
    response = admin.get(path)
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_data(as_text=True)
    with seeded.app_context():
        assert rows() == before


NUL_FORMS = [
    ("/admin/groups", {"name": "Sales\x00"}),
    ("/admin/users/new", {"email": "new\x00@example.com", "name": "New"}),
    ("/admin/settings/new", {"name": "x\x00"}),
    ("/locale", {"locale": "fr\x00"}),
]


@pytest.mark.parametrize("path, data", NUL_FORMS)
def test_nul_in_a_form_is_a_clear_400_and_writes_nothing(admin, seeded, path, data):
    token = csrf_token(admin, "/admin/groups")
    with seeded.app_context():
        before = rows()
    response = admin.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_data(as_text=True)
    with seeded.app_context():
        assert rows() == before


def test_nul_in_a_device_rename_is_refused_in_the_fragment(seeded, client, auth):
    device_id = _device(seeded)
    auth.login("alice@example.com")
    token = csrf_token(client, "/devices")
    response = client.post(
        f"/devices/{device_id}/name",
        data={"name": "My\x00phone", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#alerts"
    assert NUL_MESSAGE in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.get(Device, device_id).name == "Alice's iPhone"


def test_nul_at_sign_in_is_a_400_not_a_500(seeded, client):
    token = csrf_token(client)
    response = client.post(
        "/login", data={"email": "alice@example.com\x00", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_data(as_text=True)


def test_nul_in_the_discovery_user_identifier_is_a_json_400(seeded, client):
    with seeded.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    response = client.get(
        "/.well-known/com.apple.remotemanagement",
        query_string={"user-identifier": "alice\x00@example.com", "model-family": "iPhone"},
    )
    assert response.status_code == 400
    assert response.is_json and NUL_MESSAGE in response.get_json()["message"]
    with seeded.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before


@pytest.mark.parametrize("document", [{"q": "a\x00"}, ["\ud800"], {"k\x00": 1}])
def test_unstorable_json_is_a_json_400(admin, seeded, document):
    token = csrf_token(admin, "/admin/groups")
    body = json.dumps(document)  # \u0000 and \ud800 escapes
    response = admin.post(
        "/admin/settings/order",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_json()["message"]


def test_nul_in_a_path_part_is_a_400(seeded, client):
    assert client.get("/go/abc%00def").status_code == 400


def test_nul_in_a_scim_query_is_a_scim_400(seeded, client):
    # (A NUL in `filter` is SCIM's own `invalidFilter`: tests/scim/test_scim_hostile_input.py.)
    response = client.get("/scim/v2/Users", query_string={"attributes": "userName\x00"})
    assert response.status_code == 400
    assert response.get_json()["status"] == "400"


def test_nul_in_a_device_query_is_an_empty_device_400(seeded, client):
    response = client.put("/mdm/checkin?e=%00", data=b"x")
    assert (response.status_code, response.data) == (400, b"")


# --- caching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/", {}),
        ("/devices", {}),
        ("/enroll", {}),
        ("/enroll/status", {"HX-Request": "true"}),
        ("/admin/users", {}),
        ("/admin/users?q=a", {"HX-Request": "true"}),
        ("/admin/audit", {}),
        ("/admin/notifications/bell", {"HX-Request": "true"}),
        ("/healthz", {}),
    ],
)
def test_pages_and_fragments_are_not_stored_in_caches(admin, path, headers):
    response = admin.get(path, headers=headers)
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "no-store"


def test_the_sign_in_page_is_not_stored_either(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_caching(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()
