"""One place that decides between a whole page and an htmx fragment."""

from __future__ import annotations

from flask import make_response, render_template

from .extensions import htmx


def wants_fragment() -> bool:
    """An htmx request for a region (a boosted navigation wants the whole page)."""
    return bool(htmx) and not htmx.boosted


def render(page: str, fragment: str | None = None, status: int = 200, **context):
    """Render `fragment` for htmx region requests, else `page`; both get `Vary: HX-Request`."""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
