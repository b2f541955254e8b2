"""What `/slack/events` checks before Bolt sees a request: a readable timestamp and signature
(else 401, as Bolt answers), then a body Bolt can parse (else 400).

Bolt turns an unreadable `X-Slack-Request-Timestamp` or a signed body that is not the JSON
it expects into an exception (a 500); Slack itself never sends either, so an answer that says
what was wrong is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from urllib.parse import parse_qs

from flask import Request, Response, jsonify

# Slack's timestamps are Unix seconds; anything else is not Slack's.
TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
# Slack's payloads (a modal's state inside a block action) nest a few dozen levels at most.
MAX_DEPTH = 64
# Slack's rule: a request older (or newer) than five minutes may be a replay.
MAX_AGE = 5 * 60


def _refused() -> Response:
    response = jsonify(error="invalid request")
    response.status_code = 401
    return response


def _unreadable(reason: str) -> Response:
    response = jsonify(error="invalid payload", detail=reason)
    response.status_code = 400
    return response


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        if isinstance(node, dict):
            stack.extend((item, depth + 1) for item in node.values())
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
    return deepest


def _object(text: str, what: str) -> str | None:
    """None when `text` is a JSON object Bolt can use, else why not."""
    try:
        value = json.loads(text)
    except RecursionError:
        return f"{what} is nested too deeply"
    except ValueError:
        return f"{what} is not valid JSON"
    if not isinstance(value, dict):
        return f"{what} is not a JSON object"
    if _depth(value) > MAX_DEPTH:
        return f"{what} is nested too deeply"
    return None


def _signed(secret: str, body: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 signature over the raw bytes. slack_sdk's SignatureVerifier decodes the
    body as UTF-8 first (and raises on other bytes), so the same rule is applied here."""
    if abs(time.time() - int(timestamp)) > MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def check(request: Request, signing_secret: str) -> Response | None:
    """The refusal for a request Bolt should not see, or None to hand it over."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    signature = request.headers.get("X-Slack-Signature")
    if timestamp is None or signature is None:
        return _refused()
    if not TIMESTAMP_RE.fullmatch(timestamp):
        return _refused()
    body = request.get_data(cache=True)
    if not _signed(signing_secret, body, timestamp, signature):
        return _refused()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _unreadable("the body is not UTF-8")
    content_type = (request.mimetype or "").lower()
    if content_type == "application/json":
        problem = _object(text, "the body")
        return _unreadable(problem) if problem else None
    try:
        fields = parse_qs(text, keep_blank_values=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return _unreadable("the form cannot be read")
    if "payload" in fields:
        problem = _object(fields["payload"][0], "payload")
        return _unreadable(problem) if problem else None
    return None
