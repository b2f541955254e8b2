"""A local stand-in for Slack: its Web API, `response_url`s, and signed requests to the app.

`SlackStandIn` is a `ThreadingHTTPServer` on a free port answering the Web API methods the
assistant uses (`auth.test`, `users.info`, `users.lookupByEmail`, `chat.postMessage`,
`chat.postEphemeral`, `views.publish`) and `response_url` posts, recording every call.
`SlackSender` posts correctly signed (or deliberately unsigned / mis-signed / stale)
requests to a running app's `/slack/events`, built from the payloads Slack and its SDKs
publish (tests/data/slack/).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

DATA = Path(__file__).resolve().parent.parent / "data" / "slack"
BOT_TOKEN = "xoxb-test-bot-token"
SIGNING_SECRET = "test-signing-secret-8f742231b10e"
TEAM_ID = "T0EXAMPLE"
BOT_USER_ID = "U0ENROLLBOT"


@functools.lru_cache
def _sample_text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def sample(name: str) -> dict:
    """A payload file from tests/data/slack/ (a fresh copy each time)."""
    return json.loads(_sample_text(name))


@dataclass
class Call:
    method: str  # Web API method ("chat.postMessage") or "response_url"
    params: dict
    path: str
    authorization: str | None
    at: float = field(default_factory=time.monotonic)


def _slack_user(user_id: str, info: dict) -> dict:
    """A `users.info` user object shaped like Slack's published example."""
    user = copy.deepcopy(sample("webapi_users.info.json")["success"]["body"]["user"])
    name = info.get("name", user_id.lower())
    user.update(
        id=user_id,
        name=name,
        real_name=info.get("real_name", name),
        team_id=TEAM_ID,
        deleted=info.get("deleted", False),
        is_bot=info.get("is_bot", False),
        is_admin=info.get("is_admin", False),
    )
    user["profile"].update(
        display_name=name,
        display_name_normalized=name,
        real_name=info.get("real_name", name),
        team=TEAM_ID,
    )
    if info.get("email"):
        user["profile"]["email"] = info["email"]
    else:
        user["profile"].pop("email", None)
    if info.get("locale"):
        user["locale"] = info["locale"]
    return user


class SlackStandIn:
    """Slack's Web API and response URLs on 127.0.0.1, recording what the app asked."""

    def __init__(self, users: dict[str, dict] | None = None):
        # Slack user id → {"email", "name", "locale", "deleted", "is_bot"}.
        self.users: dict[str, dict] = dict(users or {})
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._rate_limit: dict[str, int] = {}
        self._ids = itertools.count(1)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # keep test output quiet
                pass

            def do_GET(self):
                stand_in._handle(self, body=b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                stand_in._handle(self, body=self.rfile.read(length))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """What `SLACK_API_BASE_URL` should be (with the trailing slash)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name or next(self._ids)}"

    # -- behaviour ---------------------------------------------------------------------------

    def rate_limit_once(self, method: str, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and `Retry-After: 1`."""
        with self._lock:
            self._rate_limit[method] = times

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path, _, query = handler.path.partition("?")
        params: dict = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
        ctype = handler.headers.get("Content-Type", "")
        if body:
            if "json" in ctype:
                params.update(json.loads(body))
            else:
                params.update(
                    {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8")).items()}
                )
        if path.startswith("/response/"):
            method = "response_url"
        elif path.startswith("/api/"):
            method = path[len("/api/") :]
        else:
            self._send(handler, 404, {"ok": False, "error": "not_found"})
            return
        call = Call(method, params, path, handler.headers.get("Authorization"))
        with self._lock:
            self.calls.append(call)
            limited = self._rate_limit.get(method, 0)
            if limited:
                self._rate_limit[method] = limited - 1
        if limited:
            spec = sample("webapi_rate_limited_429.json")["response"]
            self._send(handler, 429, spec["body"], {"Retry-After": spec["headers"]["retry-after"]})
            return
        if method == "response_url":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/plain")
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"ok")
            return
        if call.authorization != f"Bearer {BOT_TOKEN}":
            self._send(handler, 200, {"ok": False, "error": "invalid_auth"})
            return
        self._send(handler, 200, self._answer(method, params))

    def _answer(self, method: str, params: dict) -> dict:
        ts = f"{time.time():.6f}"
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example Corp",
                "user": "enroll",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": "B0ENROLLBOT",
                "is_enterprise_install": False,
            }
        if method == "users.info":
            info = self.users.get(params.get("user", ""))
            if info is None:
                return {"ok": False, "error": "user_not_found"}
            user = _slack_user(params["user"], info)
            if str(params.get("include_locale")).lower() not in ("true", "1"):
                user.pop("locale", None)
            return {"ok": True, "user": user}
        if method == "users.lookupByEmail":
            wanted = str(params.get("email", "")).lower()
            for user_id, info in self.users.items():
                if (info.get("email") or "").lower() == wanted:
                    return {"ok": True, "user": _slack_user(user_id, info)}
            return {"ok": False, "error": "users_not_found"}
        if method == "chat.postMessage":
            channel = params.get("channel", "")
            if channel.startswith("U"):
                channel = "D" + channel[1:]  # Slack answers with the DM's channel id
            message = {"type": "message", "text": params.get("text", ""), "ts": ts}
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "views.publish":
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            return {"ok": True, "view": {**(view or {}), "id": f"V{next(self._ids):08d}"}}
        return {"ok": False, "error": "unknown_method"}

    @staticmethod
    def _send(handler, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    # -- what happened -----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 10.0, where=None
    ) -> list[Call]:
        """Poll until `count` calls of `method` (matching `where`) were made; return them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls_to(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                made = [(c.method, c.params.get("channel")) for c in self.calls]
                raise AssertionError(
                    f"expected {count} call(s) to {method}, got {len(found)}; calls: {made}"
                )
            time.sleep(0.02)

    def replies(self, timeout: float = 10.0, count: int = 1) -> list[Call]:
        """What the app said anywhere (response URL, message, ephemeral), oldest first."""
        kinds = ("response_url", "chat.postMessage", "chat.postEphemeral")
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [c for c in self.calls if c.method in kinds]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


def text_of(call: Call) -> str:
    """All the words of a message or view a call carried (text and blocks)."""
    params = call.params
    parts = [str(params.get("text") or "")]
    for key in ("blocks", "view"):
        value = params.get(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                parts.append(value)
                continue
        if value:
            parts.extend(_strings(value))
    return "\n".join(parts)


def _strings(value) -> list[str]:
    """The texts and URLs inside blocks (not their types, ids or styles)."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in ("text", "url") and isinstance(v, str)]
        return found + [s for v in value.values() if not isinstance(v, str) for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def blocks_of(call: Call) -> list[dict]:
    value = call.params.get("blocks")
    if value is None and call.params.get("view"):
        view = call.params["view"]
        value = (json.loads(view) if isinstance(view, str) else view).get("blocks")
    return json.loads(value) if isinstance(value, str) else list(value or [])


def buttons_of(call: Call) -> dict[str, dict]:
    """The buttons of a message or view, by action id."""
    return {
        element["action_id"]: element
        for block in blocks_of(call)
        if block.get("type") == "actions"
        for element in block["elements"]
    }


# -- signed requests to the app ----------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSender:
    """Posts what Slack would post to `{base}/slack/events`, signed with the app's secret."""

    def __init__(self, base_url: str, stand_in: SlackStandIn, secret: str = SIGNING_SECRET):
        self.url = base_url.rstrip("/") + "/slack/events"
        self.stand_in = stand_in
        self.secret = secret
        self.session = requests.Session()
        self._events = itertools.count(1)

    def close(self) -> None:
        self.session.close()

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        sign: bool = True,
        secret: str | None = None,
        headers: dict | None = None,
    ) -> requests.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type, **(headers or {})}
        if sign:
            sent["X-Slack-Request-Timestamp"] = ts
            sent["X-Slack-Signature"] = signature(secret or self.secret, ts, body)
        return self.session.post(self.url, data=body, headers=sent, timeout=10)

    # -- builders from Slack's published payloads --------------------------------------------

    def command_body(self, text: str, user_id: str, *, channel: str = "C0GENERAL") -> bytes:
        fields = dict(sample("slash_command_enterprise_request.json")["request"]["form_fields"])
        fields.pop("enterprise_id", None)
        fields.pop("enterprise_name", None)
        fields.update(
            team_id=TEAM_ID,
            channel_id=channel,
            user_id=user_id,
            user_name=user_id.lower(),
            command="/enroll",
            text=text,
            response_url=self.stand_in.response_url(),
        )
        return urllib.parse.urlencode(fields).encode()

    def command(self, text: str, user_id: str, **options) -> requests.Response:
        body = self.command_body(text, user_id)
        return self.post(body, "application/x-www-form-urlencoded", **options)

    def event_body(self, event: dict, *, template: str, event_id: str | None = None) -> bytes:
        body = copy.deepcopy(sample(template)["request"]["body"])
        body.pop("enterprise_id", None)
        body.update(
            team_id=TEAM_ID,
            event_id=event_id or f"Ev{next(self._events):06d}{int(time.time() * 1000)}",
            event_time=int(time.time()),
            event={**body["event"], **event},
        )
        body["event"].pop("user_team", None)
        body["event"].pop("source_team", None)
        body["event"]["team"] = TEAM_ID
        body["authorizations"] = [
            {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
        ]
        body.pop("authed_users", None)
        return json.dumps(body).encode()

    def event(self, event: dict, *, template: str, event_id: str | None = None, **options):
        body = self.event_body(event, template=template, event_id=event_id)
        return self.post(body, "application/json", **options)

    def direct_message(self, text: str, user_id: str, **options) -> requests.Response:
        ts = f"{time.time():.6f}"
        event = {
            "user": user_id,
            "text": text,
            "channel": "D" + user_id[1:],
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
        }
        body = json.loads(self.event_body(event, template="event_message_im_bolt.json"))
        for key in ("thread_ts", "parent_user_id"):
            body["event"].pop(key, None)  # a plain DM, not an assistant thread
        return self.post(json.dumps(body).encode(), "application/json", **options)

    def mention(self, text: str, user_id: str, channel: str = "C0GENERAL", **options):
        ts = f"{time.time():.6f}"
        event = {
            "user": user_id,
            "text": f"<@{BOT_USER_ID}> {text}",
            "channel": channel,
            "ts": ts,
            "event_ts": ts,
        }
        return self.event(event, template="event_app_mention_bolt.json", **options)

    def home_opened(self, user_id: str, **options) -> requests.Response:
        event = {
            "user": user_id,
            "channel": "D" + user_id[1:],
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        return self.event(event, template="event_app_home_opened_bolt.json", **options)

    def action_body(
        self,
        action_id: str,
        value: str,
        user_id: str,
        *,
        container: str = "message",
        message: dict | None = None,
    ) -> bytes:
        """A click; `message`: the message whose button it was (Slack sends it along)."""
        payload = copy.deepcopy(
            sample("interactive_block_actions_button.json")["request"]["payload"]
        )
        payload["user"] = {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": TEAM_ID,
        }
        payload["team"] = {"id": TEAM_ID, "domain": "example"}
        payload["actions"][0].update(action_id=action_id, value=value, block_id="status")
        if container == "view":
            payload["container"] = {"type": "view", "view_id": "V0HOME"}
            payload.pop("channel", None)
            payload.pop("response_url", None)
            payload["view"] = {"id": "V0HOME", "type": "home"}
        else:
            payload["container"]["channel_id"] = "C0GENERAL"
            payload["channel"] = {"id": "C0GENERAL", "name": "general"}
            payload["response_url"] = self.stand_in.response_url()
            if message is not None:
                payload["message"] = message
        return b"payload=" + urllib.parse.quote(json.dumps(payload)).encode()

    def action(
        self,
        action_id: str,
        value: str,
        user_id: str,
        *,
        container: str = "message",
        message: dict | None = None,
        **options,
    ) -> requests.Response:
        body = self.action_body(action_id, value, user_id, container=container, message=message)
        return self.post(body, "application/x-www-form-urlencoded", **options)
