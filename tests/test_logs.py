"""Request ids in and out, and LOG_FORMAT=json: one JSON object per line, secrets masked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import sqlalchemy as sa

from portal.extensions import db
from portal.models import User

ROOT = Path(__file__).resolve().parents[1]


def test_a_request_id_is_taken_from_the_caller_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert given.headers["X-Request-ID"] == "lb-7f3a.42"
    made = client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32
    other = client.get("/healthz")
    assert other.headers["X-Request-ID"] != made.headers["X-Request-ID"]
    # Not an id (spaces, a line break, too long): replaced by a fresh one.
    for bad in ("two words", "x" * 200, "a\tb"):
        answer = client.get("/healthz", headers={"X-Request-ID": bad})
        assert answer.headers["X-Request-ID"] != bad
        assert len(answer.headers["X-Request-ID"]) == 32


def test_even_a_refused_request_returns_its_id(client):
    response = client.get("/admin/users", headers={"X-Request-ID": "abc-1"})
    assert response.status_code in (302, 401, 403)
    assert response.headers["X-Request-ID"] == "abc-1"


SCRIPT = textwrap.dedent(
    """
    import re
    from portal import create_app

    app = create_app()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": "alice@example.com", "password": "demo-password",
                                "csrf_token": token})
    client.get("/devices?access-token=hunter2&page=1", headers={"X-Request-ID": "req-42"})
    client.get("/go/INVITATION-SECRET-TOKEN")
    client.put("/mdm/checkin?e=CHECKIN-SECRET", data=b"x")
    """
)


def test_json_logs_carry_request_id_route_status_duration_and_user_id(
    seeded, database_url, tmp_path
):
    with seeded.app_context():
        alice_id = db.session.scalar(sa.select(User.id).where(User.email == "alice@example.com"))
    env = {
        **os.environ,
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "LOG_FORMAT": "json",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "PUBLIC_BASE_URL": "https://portal.example.com",
        "PYTHONWARNINGS": "ignore",
    }
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [r for r in records if r["logger"] == "portal.request"]
    (devices,) = [r for r in requests if r.get("route") == "/devices"]
    assert devices["request_id"] == "req-42"
    assert devices["status"] == 200 and devices["method"] == "GET"
    assert isinstance(devices["duration_ms"], float | int) and devices["duration_ms"] >= 0
    assert devices["user_id"] == alice_id
    assert devices["path"] == "/devices?access-token=…&page=1"
    assert {"time", "level", "message"} <= set(devices)
    (login,) = [r for r in requests if r.get("route") == "/login" and r["method"] == "POST"]
    assert login["status"] == 302 and len(login["request_id"]) == 32
    everything = "\\n".join(lines)
    for secret in ("hunter2", "INVITATION-SECRET-TOKEN", "CHECKIN-SECRET", "alice@example.com"):
        assert secret not in everything, secret
