"""What travels: fingerprinted static files kept a year, large answers compressed, cached
health answers, Retry-After on rate limits without per-request limiter headers."""

from __future__ import annotations

import gzip
import re

import brotli
import sqlalchemy as sa

from portal.extensions import db

from .support import counting


def test_static_urls_carry_their_content_hash_and_are_kept_a_year(seeded, client):
    page = client.get("/login").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert urls and all(re.search(r"\?v=[0-9a-f]{12}$", u) for u in urls), urls
    css = next(u for u in urls if u.startswith("/static/css/"))
    kept = client.get(css)
    assert kept.status_code == 200
    assert kept.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Another version of the name (an old page, a guess) is not promised for a year.
    stale = client.get(css.split("?")[0] + "?v=000000000000")
    assert "immutable" not in stale.headers.get("Cache-Control", "")
    plain = client.get(css.split("?")[0])
    assert "immutable" not in plain.headers.get("Cache-Control", "")


def test_large_answers_are_compressed_small_ones_are_not(seeded, client):
    # What Chromium asks for; static files (streamed) come as Brotli.
    browser = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    script = client.get("/static/js/htmx-2.0.11.min.js", headers=browser)
    assert script.headers.get("Content-Encoding") in ("br", "zstd")
    assert "Accept-Encoding" in script.headers.get("Vary", "")
    if script.headers["Content-Encoding"] == "br":
        assert b"htmx" in brotli.decompress(script.data)
    page = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("Content-Encoding") == "gzip"
    assert b"<html" in gzip.decompress(page.data)
    assert "Content-Security-Policy" in page.headers  # the page's policy is unchanged
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers
    # Without Accept-Encoding, nothing is compressed.
    assert "Content-Encoding" not in client.get("/login").headers


def test_health_answers_are_reused_for_a_moment(app_factory):
    app = app_factory(HEALTHZ_CACHE_SECONDS=30)
    client = app.test_client()
    first = client.get("/healthz")
    assert first.status_code == 200 and first.get_json()["database"]["ok"] is True
    with counting(app) as seen:
        again = client.get("/healthz")
    assert again.status_code == 200 and again.data == first.data
    assert seen.count == 0
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]


def test_discovery_answers_are_reused_for_a_moment(app_factory, speed_pki):
    from portal import demo

    app = app_factory(DISCOVERY_CACHE_SECONDS=30, **speed_pki)
    with app.app_context():
        demo.seed("testing")
    client = app.test_client()
    path = (
        "/.well-known/com.apple.remotemanagement"
        "?user-identifier=alice@appleid.example.com&model-family=iPhone"
    )
    first = client.get(path)
    assert first.status_code == 200
    with counting(app) as seen:
        again = client.get(path)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert seen.count == 0
    # Refusals are kept too, and still answered as refusals.
    unknown = path.replace("alice@appleid", "nobody@appleid")
    assert client.get(unknown).status_code == 403
    assert client.get(unknown).status_code == 403


def test_rate_limited_answers_say_when_to_retry_others_carry_no_limiter_headers(
    app_factory, speed_pki, away_from_a_minute_boundary
):
    from portal import demo

    app = app_factory(MDM_RATE_LIMIT="2 per minute", **speed_pki)
    with app.app_context():
        demo.seed("testing")
    client = app.test_client()
    path = "/.well-known/com.apple.remotemanagement?user-identifier=x@example.com"
    answers = [client.get(path) for _ in range(3)]
    assert [a.status_code for a in answers] == [403, 403, 429]
    assert not any(h.startswith("X-RateLimit") for h in answers[0].headers.keys())
    assert 0 < int(answers[2].headers["Retry-After"]) <= 60
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
