"""Metrics under gunicorn with several workers: prometheus-client's multiprocess mode adds up
every worker's counts, whichever worker answers the scrape."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("gunicorn") is None and not (Path(sys.executable).parent / "gunicorn").exists(),
    reason="gunicorn is not installed",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "portal_http_requests_total"
                and sample.labels.get("route") == "/healthz"
            ):
                return sample.value
    return 0.0


def test_counts_from_every_gunicorn_worker_add_up(database_url, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "3",
        "PYTHONWARNINGS": "ignore",
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail((tmp_path / "gunicorn.log").read_text())
                time.sleep(0.2)
        before = healthz_count(httpx.get(f"{base}/metrics", timeout=10).text)
        # New connections each time: gunicorn spreads them over its workers.
        for _ in range(30):
            httpx.get(f"{base}/healthz", timeout=10)
        pids = len(list(metrics_dir.glob("counter_*.db")))
        assert pids >= 2, "the requests all went to one worker"
        for _ in range(5):  # whichever worker answers, the sum is the same
            text = httpx.get(f"{base}/metrics", timeout=10).text
            assert healthz_count(text) - before == 30
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()
