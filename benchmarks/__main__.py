"""`python -m benchmarks` (`make bench`): every benchmark in one run, the verdicts last.

1. the hot paths against the limits of the same stack, on SQLite and on PostgreSQL + Redis,
   the admin pages at scale, memory, two instances (benchmarks/web.py);
2. invitations through the outbox on PostgreSQL against a raw smtplib loop
   (benchmarks/outbox.py);
3. the Slack ack latency (benchmarks/slack_ack.py);
4. a bulk lock of 1,000 devices and the worker's pushes (benchmarks/bulk_push.py);
5. how fast expanding or deeply nested device plists are refused (benchmarks/plist_bounds.py);
6. the rollout dashboard and stuck list at 20,000 people (benchmarks/rollout.py).

`--only web|outbox|slack|pushes|plists|rollout` runs one part, `--only admin` only the admin
pages at scale of the web part (benchmarks/admin.py); `python -m benchmarks.outbox` keeps its
own options.
Exit status 0 when every goal is met.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import make_url

from . import admin, bulk_push, outbox, plist_bounds, rollout, slack_ack, web

OUTBOX_COUNT = 3_000


Figures = float | list[tuple[str, float]] | list[web.Goal]


@dataclass(frozen=True)
class Part:
    """One benchmark: `measure` gives its figure (or named figures, or finished goals),
    each compared with `goal`; when it cannot run, its figure is reported as skipped.

    `database`: the part needs its own PostgreSQL database, `BENCH_DATABASE_URL`'s name with
    this suffix (`measure` gets its URL).
    """

    only: str
    name: str
    goal: float
    measure: Callable[[str | None, dict], Figures]
    unit: str = "×"
    at_most: bool = False
    database: str | None = None
    alone: bool = False  # runs only when asked for by name (a piece of another part)

    def goals(self, figures: Figures) -> list[web.Goal]:
        if not isinstance(figures, list):
            figures = [(self.name, figures)]
        return [
            figure
            if isinstance(figure, web.Goal)
            else web.Goal(figure[0], figure[1], self.goal, self.unit, self.at_most)
            for figure in figures
        ]

    def failed(self, note: str) -> list[web.Goal]:
        return [web.Goal(self.name, None, self.goal, self.unit, self.at_most, note=note)]


def _web(_url: str | None, found: dict) -> Figures:
    report, _status = web.run()
    found["generator"] = report.generator
    return report.goals


def _admin(_url: str | None, found: dict) -> Figures:
    report = admin.run()
    found["generator"] = report.generator
    return report.goals


def _outbox(url: str | None, _found: dict) -> Figures:
    return outbox.measure(OUTBOX_COUNT, 100, url)[1]


def _rollout(url: str | None, _found: dict) -> Figures:
    return [(f"{page}, median", median) for page, median in rollout.measure(url)]


# In the order they run. The outbox and the rollout get databases of their own: the outbox
# of the large demo set (web part) must not be sent, and the rollout empties its database.
PARTS = {
    part.only: part
    for part in (
        Part("web", "hot paths, scale, memory, instances", 1, _web),
        Part("admin", "admin pages at scale", admin.GOAL_MS, _admin, "ms", True, alone=True),
        Part(
            "outbox",
            "outbox worker / smtplib loop, PostgreSQL",
            outbox.TARGET,
            _outbox,
            database="outbox",
        ),
        Part(
            "slack",
            "Slack ack p99 (Slack allows 3,000 ms)",
            slack_ack.TARGET_P99_MS,
            lambda _url, _found: slack_ack.measure()[1],
            "ms",
            at_most=True,
        ),
        Part(
            "pushes",
            "bulk lock of 1,000 devices returns (s)",
            bulk_push.TARGET_SECONDS,
            lambda _url, _found: bulk_push.measure()[1],
            "s",
            at_most=True,
        ),
        Part(
            "plists",
            "slowest refusal of an expanding plist",
            plist_bounds.TARGET_MS,
            lambda _url, _found: plist_bounds.measure()[1],
            "ms",
            at_most=True,
        ),
        Part(
            "rollout",
            "rollout pages, 20,000 people, PostgreSQL",
            rollout.GOAL_MS,
            _rollout,
            "ms",
            at_most=True,
            database="rollout",
        ),
    )
}


def _machine() -> str:
    cpus = os.cpu_count() or 0
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.node()}: {cpus} CPU ({model or platform.machine()}), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"load average {load:.1f} at start"
    )


def run_part(part: Part, found: dict) -> list[web.Goal]:
    """`part`'s figures; on an error, its figure with the error (the other parts still run)."""
    url = None
    if part.database:
        base = make_url(os.environ.get("BENCH_DATABASE_URL", web.PG_DEFAULT))
        url = base.set(database=f"{base.database}_{part.database}").render_as_string(False)
    try:
        if url is not None and not web._postgres_ready(url):
            return part.failed("PostgreSQL unavailable")
        return part.goals(part.measure(url, found))
    except Exception as exc:  # noqa: BLE001  (reported with the verdicts)
        traceback.print_exc()
        return part.failed(repr(exc))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--only", choices=tuple(PARTS))
    args = parser.parse_args(argv)
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = _machine()
    goals: list[web.Goal] = []
    found: dict = {}
    for part in PARTS.values():
        if args.only == part.only or (args.only is None and not part.alone):
            goals += run_part(part, found)

    print(f"\n== Summary: {stamp}, {machine}")
    if found.get("generator"):
        print(f"   load generator: {found['generator']}")
    print(f"   whole run: {time.monotonic() - started:.0f} s\n")
    for goal in goals:
        print(goal.line())
    met = sum(g.met for g in goals)
    print(f"\n{met} of {len(goals)} goals met.")
    return 0 if met == len(goals) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
