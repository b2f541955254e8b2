"""Access logs keep the path of a device request and lose its secrets."""

from __future__ import annotations

import http.client
import logging
import re
import threading

import pytest
from werkzeug.serving import make_server

from .support import CHECKIN, dumps, load, mdm_payload

# gunicorn's default `access_log_format`.
GUNICORN_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
# The development server colours the request line of errors.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def served(seeded):
    """The app behind the real development server, on a free local port."""
    server = make_server("127.0.0.1", 0, seeded, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join()


def request(server, method: str, target: str, body: bytes = b"", headers=None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def access_lines(caplog, logger: str) -> list[str]:
    return [ANSI.sub("", r.getMessage()) for r in caplog.records if r.name == logger]


def test_the_development_server_logs_check_ins_without_their_secret(
    seeded, device_for, served, caplog
):
    device, profile = device_for("alice@example.com", "ios", "16.4")
    message = load("ios-ue-authenticate.plist", Topic=mdm_payload(profile)["Topic"])
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        status = request(
            served,
            "PUT",
            f"/mdm/checkin?e={device.secret}",
            dumps(message),
            {"Content-Type": CHECKIN},
        )
        refused = request(served, "PUT", "/mdm/connect?e=guessed-secret-value", b"")
    assert (status, refused) == (200, 401)
    lines = access_lines(caplog, "werkzeug")
    assert len(lines) == 2
    assert device.secret not in caplog.text and "guessed-secret-value" not in caplog.text
    assert '"PUT /mdm/checkin?… HTTP/1.1" 200' in lines[0]
    assert '"PUT /mdm/connect?… HTTP/1.1" 401' in lines[1]


def test_the_development_server_masks_managed_apple_ids_and_token_parameters(
    seeded, served, caplog
):
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        request(
            served,
            "GET",
            "/.well-known/com.apple.remotemanagement?user-identifier=alice%40example.com",
        )
        request(served, "GET", "/login?next=/devices&access-token=opaque-value&lang=fr")
    lines = access_lines(caplog, "werkzeug")
    assert "alice" not in caplog.text and "opaque-value" not in caplog.text
    assert '"GET /.well-known/com.apple.remotemanagement?… HTTP/1.1"' in lines[0]
    assert '"GET /login?next=/devices&access-token=…&lang=fr HTTP/1.1"' in lines[1]


@pytest.mark.parametrize(
    "path, query, logged_query",
    [
        ("/mdm/checkin", "e=s3cr3t-enrollment-value", "…"),
        ("/mdm/enroll/auth", "user-identifier=alice@example.com", "…"),
        ("/auth/callback", "state=abc&id_token=s3cr3t-enrollment-value", "state=…&id_token=…"),
        ("/admin/users", "client_secret=s3cr3t-enrollment-value&q=x", "client_secret=…&q=x"),
    ],
)
def test_gunicorn_access_lines_are_masked(seeded, caplog, path, query, logged_query):
    """gunicorn formats `access_log_format % atoms` on its `gunicorn.access` logger."""
    atoms = {
        "h": "192.0.2.7",
        "l": "-",
        "u": "-",
        "t": "[26/Nov/2026:10:00:00 +0000]",
        "r": f"GET {path}?{query} HTTP/1.1",
        "s": "200",
        "b": "0",
        "f": "-",
        "a": "iOS/17.5",
        "U": path,
        "q": query,
    }
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logging.getLogger("gunicorn.access").info(GUNICORN_FORMAT, atoms)
        # A custom format that logs the query on its own.
        logging.getLogger("gunicorn.access").info("%(U)s %(q)s", dict(atoms))
    default, custom = access_lines(caplog, "gunicorn.access")
    assert "s3cr3t" not in caplog.text and "alice" not in caplog.text
    assert f'"GET {path}?{logged_query} HTTP/1.1" 200' in default
    assert custom == f"{path} {logged_query}"


def test_the_openid_callbacks_code_and_state_are_masked():
    from portal.access_log import redact

    line = '"GET /auth/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj&iss=x HTTP/1.1" 302'
    masked = redact(line)
    assert "SplxlOBeZQQYbYS6WxSbIA" not in masked and "af0ifjsldkj" not in masked
    assert "/auth/callback?code=…&state=…&iss=x" in masked
