"""Servers as production runs them: gunicorn (2 sync workers, --preload) and haproxy.

Each server gets a free loopback port, its output in a log file, and is stopped (SIGTERM,
then SIGKILL) by whoever started it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}) before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  (loopback)
                if response.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} after {timeout:.0f} s")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


class Gunicorn:
    """`gunicorn -w 2 --preload <app>` on a free port, with `env` added to the environment."""

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        log: Path,
        *,
        workers: int = 2,
        port: int | None = None,
        preload: bool = True,
        health: str = "/healthz",
    ) -> None:
        self.app, self.env, self.log, self.workers = app, env, log, workers
        self.port = port or free_port()
        self.preload, self.health = preload, health
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "10",
            "--log-level",
            "warning",
        ]
        if self.preload:
            command.append("--preload")
        command.append(self.app)
        env = {**os.environ, **self.env}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603  (our own arguments)
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_for(self.url + self.health, process=self.process)
        # Every worker up (with --preload they fork at once; without, each imports).
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        return self

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process else []

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


HAPROXY_CONFIG = """
global
    maxconn 2000
    log stderr format short local0 info
defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 5s
    timeout queue 60s
    retries 3
    option redispatch 1
    # Bodies are kept until answered, so a PUT or POST can go to the other instance when
    # the first one closed without answering.
    option http-buffer-request
    retry-on conn-failure empty-response response-timeout 503
frontend portal
    bind 127.0.0.1:{port}
    default_backend instances
backend instances
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    # Sync workers take one request each: haproxy keeps the queue (so health checks never
    # wait behind it), and a server is down only after three failed checks in a row, or at
    # once when it refuses a connection (stopped): else, while the other server is full,
    # every request would be sent to the stopped one and fail within the three seconds.
    default-server inter 1s fall 3 rise 2 maxconn 4 observe layer4 error-limit 1 on-error mark-down
{servers}
"""


def haproxy_path() -> str | None:
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )


class HAProxy:
    """A local haproxy in front of `backends` (round robin, health checks, retries)."""

    def __init__(self, backends: list[int], directory: Path, port: int | None = None) -> None:
        self.backends = backends
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HAProxy:
        binary = haproxy_path()
        if binary is None:
            raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
        servers = "\n".join(
            f"    server app{n} 127.0.0.1:{port} check" for n, port in enumerate(self.backends)
        )
        config = self.directory / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=self.port, servers=servers))
        with (self.directory / "haproxy.log").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603  (our own arguments)
                [binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self.url + "/healthz", process=self.process)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> HAProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
