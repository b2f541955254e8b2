"""Slack's 3-second rule: how fast the live app acknowledges a signed `/enroll status`.

The seeded demo portal (a temporary SQLite database) is served by werkzeug in a thread, with
the Slack Web API and response URLs played by tests/support/slack_api.py's local stand-in.
A few hundred correctly signed `/enroll status` requests are posted one after another; each
is timed from sending to the HTTP answer (the ack). The lazy listeners — users.info, the
policy decision, the reply to the response URL — keep running meanwhile, as in production,
and must all have answered by the end. A bare Flask endpoint on the same server gives the
floor to compare with.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

SLACK_LIMIT_MS = 3000.0
TARGET_P99_MS = 100.0
WARMUP = 20


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


def _time(send, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = send()
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:200]}")
    return latencies


def run(count: int = 300) -> int:
    """Print the ack-latency table; non-zero if any ack came near Slack's 3,000 ms limit."""
    return measure(count)[0]


def measure(count: int = 300) -> tuple[int, float]:
    """(exit status, p99 ack latency in ms; infinite when lazy replies went missing)."""
    import logging

    import requests
    from flask import Flask
    from flask_migrate import upgrade

    from portal import create_app, demo
    from tests.support.slack_api import BOT_TOKEN, SIGNING_SECRET, SlackSender, SlackStandIn

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="portal-slack-bench-"))
    stand_in = SlackStandIn({"U0ALICE": {"email": "alice@example.com", "name": "alice"}})
    stand_in.start()
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
            "INSTANCE_PATH": str(workdir / "instance"),
            "SERVER_NAME": None,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_BASE_URL": stand_in.base_url,
        }
    )
    with app.app_context():
        upgrade()
        demo.seed("testing")

    floor_app = Flask("floor")
    floor_app.add_url_rule("/", "floor", lambda: "", methods=["POST"])

    server, thread, url = _serve(app)
    floor_server, floor_thread, floor_url = _serve(floor_app)
    slack = SlackSender(url, stand_in)
    session = requests.Session()
    try:
        _time(lambda: slack.command("status", "U0ALICE"), WARMUP)
        acks = _time(lambda: slack.command("status", "U0ALICE"), count)
        answered = stand_in.replies(timeout=60, count=WARMUP + count)
        body = slack.command_body("status", "U0ALICE")
        floor = _time(lambda: session.post(floor_url + "/", data=body, timeout=10), count)
    finally:
        for running, worker in ((server, thread), (floor_server, floor_thread)):
            running.shutdown()
            running.server_close()
            worker.join(5)
        slack.close()
        session.close()
        app.extensions["slack"].shutdown()
        stand_in.stop()

    median, p99 = statistics.median(acks), _percentile(acks, 0.99)
    floor_median, floor_p99 = statistics.median(floor), _percentile(floor, 0.99)
    print(f"\nSlack ack latency: {count} signed `/enroll status` requests, live app, SQLite\n")
    print(f"{'':<34} {'median ms':>10} {'p99 ms':>10} {'max ms':>10}")
    print("-" * 67)
    print(f"{'/slack/events ack':<34} {median:>10.1f} {p99:>10.1f} {max(acks):>10.1f}")
    print(
        f"{'bare Flask POST (same server)':<34} {floor_median:>10.1f} {floor_p99:>10.1f} "
        f"{max(floor):>10.1f}"
    )
    print(
        f"{'Slack limit':<34} {SLACK_LIMIT_MS:>10.0f} {SLACK_LIMIT_MS:>10.0f} "
        f"{SLACK_LIMIT_MS:>10.0f}"
    )
    print("-" * 67)
    ratio = median / floor_median if floor_median else float("inf")
    print(
        f"ack / bare Flask (median): {ratio:.1f}x;  p99 is {p99 / SLACK_LIMIT_MS:.1%} "
        "of Slack's limit"
    )
    verdict = "OK" if p99 < TARGET_P99_MS else "ABOVE TARGET"
    print(f"target p99 < {TARGET_P99_MS:.0f} ms: {verdict}")
    print(f"lazy replies received: {len(answered)} of {WARMUP + count}")
    complete = len(answered) >= WARMUP + count
    status = 0 if complete and max(acks) < SLACK_LIMIT_MS else 1
    return status, (p99 if complete else float("inf"))


if __name__ == "__main__":
    raise SystemExit(run())
