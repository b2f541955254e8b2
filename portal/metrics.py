"""Prometheus metrics (`GET /metrics`, text format, with prometheus-client).

Counters and histograms are kept per process; with `PROMETHEUS_MULTIPROC_DIR` set (gunicorn
with several workers, and the background worker beside them on the same machine) each process
writes its own files there and a scrape adds them up (prometheus-client's multiprocess mode).
What the database knows (outgoing e-mail by status and the oldest waiting, pushes waiting,
enrolled devices, background jobs) is read at scrape time, so every instance reports the same.

Access: from the `METRICS_ALLOW` networks (default: loopback), with
`Authorization: Bearer <METRICS_TOKEN>`, or signed in as an admin.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy.exc import SQLAlchemyError

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter(
    "portal_http_requests_total",
    "HTTP requests by route, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request, by route.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PUSHES = Counter(
    "portal_mdm_pushes_total",
    "MDM pushes by outcome (sent, logged, token_dead, unreachable, busy, refused, …).",
    ["outcome"],
)
CHECKINS = Counter(
    "portal_mdm_checkins_total",
    "MDM check-in messages by message type.",
    ["message_type"],
)
ENROLLMENTS = Counter(
    "portal_enrollments_total",
    "Enrollments completed, by enrollment type and method.",
    ["enrollment_type", "method"],
)
SLACK_ACK = Histogram(
    "portal_slack_ack_seconds",
    "Time to acknowledge a request from Slack (its limit is 3 seconds).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5),
)
JOB_RUNS = Counter(
    "portal_worker_job_runs_total",
    "Background job runs by job and outcome.",
    ["job", "outcome"],
)
OUTBOX_SENT = Counter(
    "portal_outbox_delivered_total",
    "Outgoing e-mail attempts by result (sent, retrying, dead, cancelled).",
    ["result"],
)

LOOPBACK = "127.0.0.0/8,::1/128"


def push_sent(outcome: str) -> None:
    PUSHES.labels(outcome=outcome).inc()


def checkin(message_type: str) -> None:
    CHECKINS.labels(message_type=message_type or "unknown").inc()


def enrolled(enrollment_type: str, method: str) -> None:
    ENROLLMENTS.labels(enrollment_type=str(enrollment_type), method=str(method)).inc()


def job_run(job: str, outcome: str) -> None:
    JOB_RUNS.labels(job=job, outcome=outcome).inc()


def outbox_batch(result) -> None:
    for name in ("sent", "retrying", "dead", "cancelled"):
        count = getattr(result, name, 0)
        if count:
            OUTBOX_SENT.labels(result=name).inc(count)


def _database_metrics() -> list[GaugeMetricFamily]:
    from .extensions import db
    from .models import (
        BackgroundJob,
        Device,
        DeviceStatus,
        OutboxMessage,
        OutboxStatus,
        PushRequest,
        utcnow,
    )

    now = utcnow()
    outbox = GaugeMetricFamily(
        "portal_outbox_messages", "Outgoing e-mail messages by status.", labels=["status"]
    )
    counts = {str(status): 0 for status in OutboxStatus}
    for status, count in db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    ):
        counts[str(status)] = count
    for status, count in sorted(counts.items()):
        outbox.add_metric([status], count)
    oldest = db.session.scalar(
        sa.select(sa.func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    waiting = GaugeMetricFamily(
        "portal_outbox_oldest_waiting_seconds",
        "Age of the oldest e-mail still waiting to be sent (0: none waits).",
    )
    waiting.add_metric([], max((now - oldest).total_seconds(), 0) if oldest else 0)
    pushes = GaugeMetricFamily(
        "portal_mdm_pushes_waiting", "Devices waiting for an MDM push from the worker."
    )
    pushes.add_metric(
        [], db.session.scalar(sa.select(sa.func.count()).select_from(PushRequest)) or 0
    )
    devices = GaugeMetricFamily(
        "portal_enrolled_devices",
        "Devices enrolled now, by enrollment type and method.",
        labels=["enrollment_type", "method"],
    )
    for kind, method, count in db.session.execute(
        sa.select(Device.enrollment_type, Device.enrollment_method, sa.func.count())
        .where(Device.status == DeviceStatus.ENROLLED)
        .group_by(Device.enrollment_type, Device.enrollment_method)
    ):
        devices.add_metric([str(kind), str(method)], count)
    last_run = GaugeMetricFamily(
        "portal_worker_job_last_run_timestamp_seconds",
        "When each background job last finished (Unix time).",
        labels=["job"],
    )
    failing = GaugeMetricFamily(
        "portal_worker_job_failing",
        "1 when a background job's last run failed.",
        labels=["job"],
    )
    for job in db.session.scalars(sa.select(BackgroundJob).order_by(BackgroundJob.name)):
        if job.last_finished_at is not None:
            last_run.add_metric([job.name], job.last_finished_at.timestamp())
        failing.add_metric([job.name], 1 if job.last_outcome == "failed" else 0)
    db.session.rollback()
    return [outbox, waiting, pushes, devices, last_run, failing]


def render() -> bytes:
    """The whole exposition: this process's (or all processes') metrics, then the database's."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    extra = CollectorRegistry()
    try:
        families = _database_metrics()
    except SQLAlchemyError:
        from .extensions import db

        db.session.rollback()
        families = []
    extra.register(_Fixed(families))
    return text + generate_latest(extra)


class _Fixed(Collector):
    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self):
        return iter(self.families)


# -- access ----------------------------------------------------------------------------------


def allowed(remote: str | None, authorization: str | None, config) -> bool:
    token = config.get("METRICS_TOKEN") or ""
    if token and authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token):
            return True
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address in network for network in config["METRICS_ALLOW_NETWORKS"])


# -- request instrumentation -----------------------------------------------------------------


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is None:
        return response
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    if rule == "/metrics":
        return response
    elapsed = time.perf_counter() - started
    REQUESTS.labels(route=rule, method=request.method, status=str(response.status_code)).inc()
    LATENCY.labels(route=rule, method=request.method).observe(elapsed)
    return response


def response() -> Response:
    return Response(render(), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    from .config import metrics_networks

    app.config["METRICS_ALLOW_NETWORKS"] = metrics_networks(app.config.get("METRICS_ALLOW") or "")
    app.before_request(_start)
    app.after_request(_finish)


def request_allowed() -> bool:
    return allowed(request.remote_addr, request.headers.get("Authorization"), current_app.config)
