"""The admin pages at `demo seed --large` size on PostgreSQL, alone (`--only admin`).

The same measure as the web part's "scale" figures (benchmarks/web.py `scale_pages`): the
portal served by gunicorn, two admins at once, p95 of each kind of page against 300 ms.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import load, web
from .serve import Gunicorn

GOAL_MS = 300


def run() -> web.Report:
    """Seed the large set into BENCH_DATABASE_URL, serve it, measure; goals in the report."""
    generator = load.find()
    report = web.Report(generator=generator.name)
    pg_url = os.environ.get("BENCH_DATABASE_URL", web.PG_DEFAULT)
    redis_url = os.environ.get("BENCH_REDIS_URL", web.REDIS_DEFAULT)
    if not (web._postgres_ready(pg_url) and web._redis_ready(redis_url)):
        report.goals.append(web.Goal("admin pages, 20,000 people", None, GOAL_MS, "ms", True))
        return report
    web._flush_redis(redis_url)
    workdir = Path(tempfile.mkdtemp(prefix="portal-admin-bench-"))
    report.say("\nAdmin pages at scale (PostgreSQL + Redis, demo seed --large):")
    fixture = web.prepare_portal(pg_url, workdir / "instance", large=True, report=report)
    env = web.portal_env(pg_url, redis_url, workdir / "instance")
    with Gunicorn("wsgi:app", env, workdir / "portal.log") as server:
        admin = web.sign_in(server.url, "adam@example.com")
        for name, result in web.scale_pages(generator, server, fixture, admin, report).items():
            report.goals.append(
                web.Goal(f"p95 {name}, 20,000 people", result.p95_ms, GOAL_MS, "ms", True)
            )
    return report
