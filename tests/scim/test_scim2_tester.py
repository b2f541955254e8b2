"""The independent checker scim2-tester (Yaal Coop, PyPI) against the live portal.

The portal runs in a real HTTP server on a free port; scim2-tester discovers it from
/ServiceProviderConfig, /ResourceTypes and /Schemas, then creates, reads, searches,
replaces, patches (add, replace, remove of every advertised attribute) and deletes users
and groups. Every check must pass except those in ALLOWED, each with its reason (the
README lists them with the figures printed here).
"""

from __future__ import annotations

import collections
import threading
from importlib.metadata import version

import httpx2
import pytest
import scim2_tester
import sqlalchemy as sa
from scim2_client.engines.httpx2 import SyncSCIMClient
from werkzeug.serving import make_server

from portal import demo
from portal.extensions import db
from portal.models import User
from portal.scim import tokens

# (resource type, check title) → why the portal differs on purpose. Empty today.
ALLOWED: dict[tuple[str | None, str], str] = {}
PASSING = {"SUCCESS", "COMPLIANT", "ACCEPTABLE", "SKIPPED"}


@pytest.fixture
def live_scim(app):
    with app.app_context():
        demo.seed("testing")
        admin = db.session.scalar(sa.select(User).filter_by(email="adam@example.com"))
        _row, raw = tokens.issue(admin, days=1)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/scim/v2", raw
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def test_scim2_tester_finds_nothing_but_the_allowed(live_scim):
    base_url, raw = live_scim
    with httpx2.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {raw}"}, timeout=30
    ) as http:
        client = SyncSCIMClient(http)
        client.discover()
        results = scim2_tester.check_server(client)
    counts = collections.Counter(r.status.name for r in results)
    failures = [
        (r.resource_type, r.title, r.reason)
        for r in results
        if r.status.name not in PASSING and (r.resource_type, r.title) not in ALLOWED
    ]
    allowed = [r for r in results if (r.resource_type, r.title) in ALLOWED]
    print(
        f"scim2-tester {version('scim2-tester')}: run {len(results)}, "
        f"passed {sum(counts[s] for s in PASSING)}, allowed {len(allowed)}; {dict(counts)}"
    )
    assert len(results) > 80  # discovery, CRUD and PATCH checks for User and Group all ran
    assert {r.resource_type for r in results} >= {"User", "Group"}
    assert failures == []
