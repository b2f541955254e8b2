"""GET /metrics: Prometheus text format, counters that move, and who may read it."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal import metrics
from portal.extensions import db
from portal.mdm import push
from portal.outbox import service as outbox
from tests.conftest import Auth

ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}


def scrape(client, **kwargs) -> dict:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_in_prometheus_text_format_and_requests_are_counted(seeded, client):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.get("/no/such/page")
    after = scrape(client)
    key = {"route": "/healthz", "method": "GET", "status": "200"}
    assert value(after, "portal_http_requests_total", **key) - value(
        before, "portal_http_requests_total", **key
    ) == pytest.approx(3)
    count = "portal_http_request_duration_seconds_count"
    assert value(after, count, route="/healthz", method="GET") >= 3
    missing = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "portal_http_requests_total", **missing) >= 1
    # /metrics itself is not counted (a scrape every few seconds would drown the rest).
    assert not any(
        name == "portal_http_requests_total" and ("route", "/metrics") in labels
        for name, labels in after
    )


def test_outbox_and_pushes_are_read_from_the_database(seeded, client):
    with seeded.app_context():
        outbox.enqueue(recipient="bob@example.com", subject="Link", body_text="…")
        db.session.commit()
    samples = scrape(client)
    assert value(samples, "portal_outbox_messages", status="pending") == 1
    assert value(samples, "portal_outbox_messages", status="dead") == 0
    assert value(samples, "portal_outbox_oldest_waiting_seconds") >= 0
    assert ("portal_mdm_pushes_waiting", ()) in samples


def test_push_check_in_and_job_counters_move(seeded, client):
    before = scrape(client)
    metrics.push_sent(push.SENT)
    metrics.checkin("TokenUpdate")
    metrics.enrolled("user", "account_driven")
    metrics.job_run("expire_enrollments", "ok")
    after = scrape(client)
    for name, labels in [
        ("portal_mdm_pushes_total", {"outcome": "sent"}),
        ("portal_mdm_checkins_total", {"message_type": "TokenUpdate"}),
        ("portal_enrollments_total", {"enrollment_type": "user", "method": "account_driven"}),
        ("portal_worker_job_runs_total", {"job": "expire_enrollments", "outcome": "ok"}),
    ]:
        assert value(after, name, **labels) - value(before, name, **labels) == 1, name


def test_metrics_are_refused_from_elsewhere(seeded, client):
    response = client.get("/metrics", environ_base=ELSEWHERE)
    assert response.status_code == 403
    assert "METRICS_ALLOW" in response.get_data(as_text=True)
    assert "portal_" not in response.get_data(as_text=True)


def test_a_token_or_an_allowed_network_opens_them(app_factory):
    app = app_factory(METRICS_TOKEN="scrape-me", METRICS_ALLOW="10.0.0.0/8, 203.0.113.0/28")
    client = app.test_client()
    assert client.get("/metrics", environ_base=ELSEWHERE).status_code == 200
    other = {"REMOTE_ADDR": "198.51.100.7"}
    assert client.get("/metrics", environ_base=other).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403
    good = {"Authorization": "Bearer scrape-me"}
    assert client.get("/metrics", environ_base=other, headers=good).status_code == 200
    bad = {"Authorization": "Bearer guess"}
    assert client.get("/metrics", environ_base=other, headers=bad).status_code == 403


def test_a_signed_in_admin_may_read_them_from_anywhere(seeded, client):
    Auth(client).login("helen@example.com")
    assert client.get("/metrics", environ_base=ELSEWHERE).status_code == 403
    Auth(client).logout()
    Auth(client).login("adam@example.com")
    assert client.get("/metrics", environ_base=ELSEWHERE).status_code == 200


def test_a_bad_metrics_allow_is_refused_at_start(app_factory):
    from portal.config import ConfigError

    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        import os

        os.environ["METRICS_ALLOW"] = "not-a-network"
        try:
            app_factory()
        finally:
            del os.environ["METRICS_ALLOW"]
