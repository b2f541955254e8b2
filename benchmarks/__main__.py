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
pages at scale of the web part (benchmarks/admin.py); `python -m benchmarks.outbox` keeps
its own options.
Exit status 0 when every goal is met.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime

from sqlalchemy.engine import make_url

from . import admin, bulk_push, outbox, plist_bounds, rollout, slack_ack, web

OUTBOX_COUNT = 3_000


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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--only", choices=("web", "admin", "outbox", "slack", "pushes", "plists", "rollout")
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = _machine()
    goals: list[web.Goal] = []
    generator = None

    if args.only in (None, "web"):
        try:
            report, _status = web.run()
            goals += report.goals
            generator = report.generator
        except Exception as exc:  # noqa: BLE001  (reported with the verdicts; the rest runs)
            traceback.print_exc()
            goals.append(web.Goal("hot paths, scale, memory, instances", None, 1, note=repr(exc)))

    if args.only == "admin":
        try:
            report = admin.run()
            goals += report.goals
            generator = report.generator
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            name = "admin pages at scale"
            goals.append(web.Goal(name, None, admin.GOAL_MS, "ms", True, repr(exc)))

    if args.only in (None, "outbox"):
        name = "outbox worker / smtplib loop, PostgreSQL"
        # Its own database: the outbox of the large demo set (web part) must not be sent.
        base = make_url(os.environ.get("BENCH_DATABASE_URL", web.PG_DEFAULT))
        pg_url = base.set(database=f"{base.database}_outbox").render_as_string(False)
        try:
            if web._postgres_ready(pg_url):
                _status, ratio = outbox.measure(OUTBOX_COUNT, 100, pg_url)
                goals.append(web.Goal(name, ratio, 0.5))
            else:
                goals.append(web.Goal(name, None, 0.5, note="PostgreSQL unavailable"))
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            goals.append(web.Goal(name, None, 0.5, note=repr(exc)))

    if args.only in (None, "slack"):
        name = "Slack ack p99 (Slack allows 3,000 ms)"
        try:
            _status, p99 = slack_ack.measure()
            goals.append(web.Goal(name, p99, 100, "ms", at_most=True))
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            goals.append(web.Goal(name, None, 100, "ms", at_most=True, note=repr(exc)))

    if args.only in (None, "pushes"):
        name = "bulk lock of 1,000 devices returns (s)"
        try:
            _status, seconds = bulk_push.measure()
            goals.append(web.Goal(name, seconds, bulk_push.TARGET_SECONDS, "s", at_most=True))
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            goals.append(web.Goal(name, None, 1, "s", at_most=True, note=repr(exc)))

    if args.only in (None, "plists"):
        name = "slowest refusal of an expanding plist"
        try:
            _status, worst = plist_bounds.measure()
            goals.append(web.Goal(name, worst, plist_bounds.TARGET_MS, "ms", at_most=True))
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            goals.append(web.Goal(name, None, 1000, "ms", at_most=True, note=repr(exc)))

    if args.only in (None, "rollout"):
        name = "rollout pages, 20,000 people, PostgreSQL"
        # Its own database: the benchmark empties it and seeds its own organization.
        base = make_url(os.environ.get("BENCH_DATABASE_URL", web.PG_DEFAULT))
        pg_url = base.set(database=f"{base.database}_rollout").render_as_string(False)
        try:
            if web._postgres_ready(pg_url):
                for page, median in rollout.measure(pg_url):
                    goals.append(
                        web.Goal(f"{page}, median", median, rollout.GOAL_MS, "ms", at_most=True)
                    )
            else:
                goals.append(web.Goal(name, None, rollout.GOAL_MS, "ms", True, "no PostgreSQL"))
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            goals.append(web.Goal(name, None, rollout.GOAL_MS, "ms", at_most=True, note=repr(exc)))

    print(f"\n== Summary: {stamp}, {machine}")
    if generator:
        print(f"   load generator: {generator}")
    print(f"   whole run: {time.monotonic() - started:.0f} s\n")
    for goal in goals:
        print(goal.line())
    met = sum(g.met for g in goals)
    print(f"\n{met} of {len(goals)} goals met.")
    return 0 if met == len(goals) else 1


sys.exit(main(sys.argv[1:]))
