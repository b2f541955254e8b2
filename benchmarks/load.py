"""HTTP load: wrk when it is installed (Debian's `wrk`), else a small Python generator.

Every run is described by a list of requests (method, path, headers, body); each connection
picks one at random per request. The result gives requests per second, latency percentiles
and the count of failures (non-2xx/3xx answers, socket errors).
"""

from __future__ import annotations

import http.client
import json
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

THREADS = 2
CONNECTIONS = 50
DURATION = 10


@dataclass(frozen=True)
class Request:
    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Result:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    failures: int
    statuses: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.rps:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p95 {self.p95_ms:6.1f} ms  "
            f"p99 {self.p99_ms:6.1f} ms  {self.requests:>7,} requests, {self.failures} failed"
        )


class LoadGenerator:
    name = "python"

    def run(
        self,
        base_url: str,
        requests: list[Request],
        *,
        duration: float = DURATION,
        connections: int = CONNECTIONS,
        threads: int = THREADS,
        total: int | None = None,
    ) -> Result:
        raise NotImplementedError


def find() -> LoadGenerator:
    """wrk if it is on the PATH, else the Python generator (slower: a lower ceiling)."""
    path = shutil.which("wrk")
    if path:
        return Wrk(path)
    return PythonLoad()


# -- wrk ----------------------------------------------------------------------------------------

LUA = r"""
local reqs = %(requests)s
local formatted = {}
local limit = %(limit)d
local count = 0

init = function(args)
  for i, r in ipairs(reqs) do
    formatted[i] = wrk.format(r[1], r[2], r[3], r[4])
  end
end

request = function()
  return formatted[math.random(#formatted)]
end

response = function(status, headers, body)
  if limit > 0 then
    count = count + 1
    if count >= limit then wrk.thread:stop() end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\"requests\": %%d, \"us\": %%d, \"p50\": %%d, \"p95\": %%d, \"p99\": %%d, " ..
    "\"status\": %%d, \"connect\": %%d, \"read\": %%d, \"write\": %%d, \"timeout\": %%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def _lua_string(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    out = []
    for ch in value:
        code = ord(ch)
        if ch in '"\\' or code < 32 or code > 126:
            out.append(f"\\{code:03d}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _lua_requests(requests: list[Request]) -> str:
    rows = []
    for r in requests:
        headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in r.headers.items())
        body = _lua_string(r.body) if r.body else "nil"
        rows.append(f"{{{_lua_string(r.method)}, {_lua_string(r.path)}, {{{headers}}}, {body}}}")
    return "{\n" + ",\n".join(rows) + "\n}"


class Wrk(LoadGenerator):
    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"wrk ({path})"

    def run(
        self,
        base_url,
        requests,
        *,
        duration=DURATION,
        connections=CONNECTIONS,
        threads=THREADS,
        total=None,
    ):
        limit = -(-total // threads) if total else 0
        script = LUA % {"requests": _lua_requests(requests), "limit": limit}
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
            fh.write(script)
        try:
            completed = subprocess.run(  # noqa: S603  (our own arguments)
                [
                    self.path,
                    f"-t{threads}",
                    f"-c{connections}",
                    f"-d{int(duration)}s",
                    "--timeout",
                    "10s",
                    "-s",
                    fh.name,
                    base_url,
                ],
                capture_output=True,
                text=True,
                timeout=duration + 60,
                check=False,
            )
        finally:
            Path(fh.name).unlink(missing_ok=True)
        match = re.search(r"^BENCH (\{.*\})$", completed.stdout, re.M)
        if not match:
            raise RuntimeError(f"wrk failed: {completed.stdout}\n{completed.stderr}")
        data = json.loads(match.group(1))
        seconds = data["us"] / 1e6
        failures = sum(data[k] for k in ("status", "connect", "read", "write", "timeout"))
        return Result(
            requests=data["requests"],
            seconds=seconds,
            rps=data["requests"] / seconds if seconds else 0.0,
            p50_ms=data["p50"] / 1000,
            p95_ms=data["p95"] / 1000,
            p99_ms=data["p99"] / 1000,
            failures=failures,
            statuses={"non-2xx/3xx": data["status"]},
        )


# -- Python ---------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class PythonLoad(LoadGenerator):
    """Threads with keep-alive connections; fewer connections than wrk (the GIL)."""

    name = "python (http.client threads; wrk not found)"

    def run(
        self,
        base_url,
        requests,
        *,
        duration=DURATION,
        connections=CONNECTIONS,
        threads=THREADS,
        total=None,
    ):
        parts = urlsplit(base_url)
        connections = min(connections, 16)
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        lock = threading.Lock()
        deadline = time.monotonic() + duration
        remaining = [total if total else -1]

        def worker() -> None:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            mine: list[float] = []
            codes: dict[str, int] = {}
            while time.monotonic() < deadline:
                with lock:
                    if remaining[0] == 0:
                        break
                    remaining[0] -= 1
                r = random.choice(requests)  # noqa: S311
                started = time.perf_counter()
                try:
                    conn.request(r.method, r.path, body=r.body or None, headers=r.headers)
                    response = conn.getresponse()
                    response.read()
                    code = str(response.status)
                    if response.getheader("Connection", "").lower() == "close":
                        conn.close()
                except (OSError, http.client.HTTPException):
                    code = "socket"
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                mine.append((time.perf_counter() - started) * 1000)
                codes[code] = codes.get(code, 0) + 1
            conn.close()
            with lock:
                latencies.extend(mine)
                for k, v in codes.items():
                    statuses[k] = statuses.get(k, 0) + v

        started = time.monotonic()
        workers = [threading.Thread(target=worker) for _ in range(connections)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seconds = time.monotonic() - started
        failures = sum(v for k, v in statuses.items() if k == "socket" or int(k) >= 400)
        return Result(
            requests=len(latencies),
            seconds=seconds,
            rps=len(latencies) / seconds if seconds else 0.0,
            p50_ms=percentile(latencies, 0.5),
            p95_ms=percentile(latencies, 0.95),
            p99_ms=percentile(latencies, 0.99),
            failures=failures,
            statuses=statuses,
        )
