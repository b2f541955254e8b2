"""What every request must respect before a view sees it: body size and storable text.

- Body size: `MAX_CONTENT_LENGTH` for the whole app, larger only where a route needs it
  (uploads, command results, SCIM). A body declared larger is answered 413 before anything
  reads it (this hook runs before CSRF and the rate limiter, which read forms); a chunked
  body is cut off at the same size by Werkzeug while it is read.
- Text: a NUL character (or a lone surrogate from JSON) cannot be stored by PostgreSQL and
  has no use in a name, a search or a setting: query strings, path parts, forms and JSON
  bodies carrying one are answered 400 with the reason, before any work.
- Responses: `Cache-Control: no-store` on everything but static files, so no page or
  fragment showing personal or admin data stays in a browser's or a proxy's cache.

Each refusal takes the route's own form: a page, an htmx fragment or JSON (portal.errors),
a SCIM error (the SCIM blueprint's handler) or an empty device answer (MDM refusals).
"""

from __future__ import annotations

import json
import re
from itertools import chain

from flask import Flask, current_app, g, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from .access import EXTERNAL, access_of

# Characters PostgreSQL cannot keep in a text column (NUL) or that cannot be encoded (lone
# surrogates, which only JSON's \ud800 escapes can produce).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# Command results: their plist bounds (portal.mdm.plist_limits) allow 4 MB.
MDM_CONNECT_MAX_BYTES = 4 * 1024 * 1024
# Routes whose bodies may exceed MAX_CONTENT_LENGTH: endpoint or blueprint → setting or size.
LARGER_BODIES: dict[str, str | int] = {
    "apple.upload_token": "UPLOAD_MAX_CONTENT_LENGTH",
    "apple.upload_certificate": "UPLOAD_MAX_CONTENT_LENGTH",
    "mdm.connect_report": MDM_CONNECT_MAX_BYTES,
    "scim": "SCIM_MAX_CONTENT_LENGTH",
}


def body_limit() -> int | None:
    """The largest body the current route accepts (None: no cap configured)."""
    config = current_app.config
    larger = LARGER_BODIES.get(request.endpoint or "") or LARGER_BODIES.get(request.blueprint or "")
    if isinstance(larger, int):
        return larger
    if larger and config.get(larger):
        return int(config[larger])
    cap = config.get("MAX_CONTENT_LENGTH")
    return int(cap) if cap else None


def _device_endpoint() -> bool:
    return request.blueprint == "mdm" and access_of(current_app, request.endpoint) == EXTERNAL


def _too_large(limit: int):
    if _device_endpoint():
        from .mdm.errors import TooLarge

        return TooLarge("body_too_large", detail=f"{request.content_length} bytes")
    error = RequestEntityTooLarge(
        description=str(_l("The request is larger than %(size)s KB.", size=limit // 1024))
    )
    error.portal_detail = True
    return error


def _unstorable(where: str):
    if _device_endpoint():
        from .mdm.errors import Malformed

        return Malformed("unstorable_character", detail=where)
    error = BadRequest(
        description=str(
            _l(
                "The request contains a character that cannot be stored (a NUL byte or an "
                "invalid character). Remove it and try again."
            )
        )
    )
    error.portal_detail = True
    return error


def has_unstorable(value) -> bool:
    """Whether `value` (text, or JSON made of dicts, lists and text) holds such a character."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _multi(values) -> bool:
    """Whether a key or value of a MultiDict of text holds such a character (one search)."""
    return (
        bool(values)
        and UNSTORABLE.search("".join(chain.from_iterable(values.items(multi=True)))) is not None
    )


def _check_size() -> None:
    limit = body_limit()
    if limit is None:
        return
    request.max_content_length = limit
    if request.content_length is not None:
        if request.content_length > limit:
            raise _too_large(limit)
        return
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if chunked and access_of(current_app, request.endpoint or "") != EXTERNAL:
        # No declared size: Werkzeug would silently stop at the cap. Read one byte past it
        # (kept for the form parser) to tell a body at the cap from one beyond it.
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise _too_large(limit)
        request.max_content_length = limit


def _query_has_nul(query_string: bytes) -> bool:
    """Whether a raw query string decodes to text holding NUL: written `%00` (or sent raw).

    Decoding a URL cannot make a lone surrogate (invalid UTF-8 becomes U+FFFD), so this
    answers for every query without parsing it."""
    return b"%00" in query_string or b"\x00" in query_string


def _check_text() -> None:
    if request.blueprint == "scim":  # SCIM refuses a bad filter itself, as `invalidFilter`
        args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "filter"])
        if _multi(args):
            raise _unstorable("query")
    elif _query_has_nul(request.query_string):
        raise _unstorable("query")
    if has_unstorable(list((request.view_args or {}).values())):
        raise _unstorable("path")
    if request.endpoint is None or access_of(current_app, request.endpoint) == EXTERNAL:
        # Device, Slack and SCIM endpoints read their raw bodies themselves (signatures).
        return
    if request.mimetype in FORM_TYPES:
        if _multi(request.form):
            raise _unstorable("form")
        names = [f.filename or "" for f in request.files.values()]
        if has_unstorable(names):
            raise _unstorable("file name")
    elif request.is_json and request.content_length:
        try:
            document = json.loads(request.get_data(cache=True))
        except ValueError:
            return  # the view answers malformed JSON itself
        if has_unstorable(document):
            raise _unstorable("JSON")


def check_request() -> None:
    """Before every view: refuse oversized bodies, then unstorable characters."""
    _check_size()
    _check_text()


def _finish(response):
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    # A 503's own Retry-After (portal.errors), not the rate limiter's window it overwrote.
    retry_after = g.get("retry_after")
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def init_app(app: Flask) -> None:
    """Register before CSRF and the rate limiter: both read the form (and this module's
    after-request hook runs after the limiter's)."""
    app.before_request(check_request)
    app.after_request(_finish)
