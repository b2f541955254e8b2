"""`make run` from a fresh clone: every process of the Procfile starts, mail leaves through the
worker, and Ctrl-C stops everything."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="needs make, git and a git checkout",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} never answered:\n{log.read_text()}")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_serves_sends_mail_through_the_worker_and_stops_on_ctrl_c(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)  # noqa: S607
    # The clone uses this checkout's virtual environment (installing another takes minutes);
    # `-o` keeps make from reinstalling into it.
    (clone / ".venv").symlink_to(ROOT / ".venv")
    port = free_port()
    instance = tmp_path / "instance"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "SMTP_", "DATABASE_", "PYTEST", "MDM_", "SLACK_"))
        and key not in ("SECRET_KEY", "INSTANCE_PATH", "LOG_FORMAT", "RATELIMIT_STORAGE_URI")
    }
    env.update(
        PORT=str(port),
        INSTANCE_PATH=str(instance),
        DATABASE_URL=f"sqlite:///{tmp_path / 'portal.db'}",
        PYTHONWARNINGS="ignore",
    )
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            ["make", "-o", ".venv/.installed", "run"],  # noqa: S607
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as in a terminal
        )
    pgid = os.getpgid(process.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/login", process, log)
        with httpx.Client(base_url=base, timeout=10) as client:
            token = CSRF.search(client.get("/login").text).group(1)
            signed_in = client.post(
                "/login",
                data={
                    "email": "alice@example.com",
                    "password": "demo-password",
                    "csrf_token": token,
                },
            )
            assert signed_in.status_code == 302, log.read_text()
            page = client.get("/enroll").text
            token = CSRF.search(page).group(1)
            asked = time.monotonic()
            sent = client.post("/enroll/link", data={"csrf_token": token})
            assert sent.status_code in (200, 302, 303), sent.text
        outbox = instance / "outbox"
        found: list[Path] = []
        while time.monotonic() - asked < 10 and not found:
            found = [p for p in outbox.glob("*.eml") if "alice@example.com" in p.read_text()]
            time.sleep(0.2)
        assert found, f"no .eml within 10 s:\n{log.read_text()}"
        # The worker's counts reach the web's /metrics (one multiprocess directory).
        # The worker may deliver the mail before its first round of periodic jobs ends: wait
        # for that round rather than read the counters once.
        expired_job = 'portal_worker_job_runs_total{job="expire_enrollments",outcome="ok"}'
        metrics = ""
        while time.monotonic() - asked < 40 and expired_job not in metrics:
            metrics = httpx.get(f"{base}/metrics", timeout=10).text
            time.sleep(0.5)
        assert 'portal_outbox_delivered_total{result="sent"}' in metrics, metrics
        assert expired_job in metrics, f"{metrics}\n{log.read_text()}"
        # Ctrl-C in the terminal: SIGINT to the whole foreground process group.
        os.killpg(pgid, signal.SIGINT)
        process.wait(30)
        deadline = time.monotonic() + 15
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not group_alive(pgid), "processes left behind after Ctrl-C"
        output = log.read_text()
        assert "web.1" in output and "worker.1" in output
    finally:
        if group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
        if process.poll() is None:
            process.wait(10)  # reap make, so no process is left for a later test to trip on
