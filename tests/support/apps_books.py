"""A local stand-in for Apple's Apps and Books service (license management API v2).

Answers what the portal calls: `GET /assets` and `GET /assignments` (paged like Apple's,
with `currentPageIndex` and `totalPages`), `POST /users/create`, `POST /assets/associate` and
`POST /assets/disassociate`. It keeps real state: associating takes a licence of the asset
(or answers Apple's JSON error when none is left), disassociating gives it back. Every call
is recorded; `fail_next` makes the next call to a path answer an error.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "test-apps-and-books-stoken"


@dataclass
class Call:
    method: str
    path: str
    query: dict
    body: dict | None
    authorization: str | None


@dataclass
class AppsBooksStandIn:
    page_size: int = 2
    assets: dict = field(default_factory=dict)  # adamId -> asset dict
    assignments: list = field(default_factory=list)
    users: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    failures: dict = field(default_factory=dict)  # path -> (status, body)

    def add_asset(self, adam_id: str, total: int, *, platforms=("iOS",), product="App"):
        self.assets[adam_id] = {
            "adamId": adam_id,
            "assignedCount": 0,
            "availableCount": total,
            "deviceAssignable": True,
            "pricingParam": "STDQ",
            "productType": product,
            "retiredCount": 0,
            "revocable": True,
            "supportedPlatforms": list(platforms),
            "totalCount": total,
        }

    def fail_next(self, path: str, status: int, body: dict | None) -> None:
        self.failures[path] = (status, body)

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]

    # --- the server -----------------------------------------------------------------------

    def start(self) -> str:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict | None) -> None:
                data = json.dumps(body).encode() if body is not None else b"oops"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                url = urllib.parse.urlsplit(self.path)
                path = url.path.removeprefix("/mdm/v2/")
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                auth = self.headers.get("Authorization")
                query = dict(urllib.parse.parse_qsl(url.query))
                with lock:
                    stand_in.calls.append(Call(method, path, query, body, auth))
                    if auth != f"Bearer {TOKEN}":
                        return self._answer(
                            401,
                            {"errorNumber": 9622, "errorMessage": "Invalid authentication token"},
                        )
                    if path in stand_in.failures:
                        return self._answer(*stand_in.failures.pop(path))
                    status, answer = stand_in._route(method, path, query, body or {})
                return self._answer(status, answer)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/mdm/v2"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _page(self, items: list, query: dict, key: str) -> tuple[int, dict]:
        index = int(query.get("pageIndex", 0))
        pages = max(1, -(-len(items) // self.page_size))
        chunk = items[index * self.page_size : (index + 1) * self.page_size]
        return 200, {key: chunk, "currentPageIndex": index, "size": len(chunk), "totalPages": pages}

    def _route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        if method == "GET" and path == "assets":
            return self._page(list(self.assets.values()), query, "assets")
        if method == "GET" and path == "assignments":
            return self._page(list(self.assignments), query, "assignments")
        if method == "POST" and path == "users/create":
            for user in body.get("users", []):
                self.users[user["clientUserId"]] = user
            return 200, {"eventId": "event-users"}
        if method == "POST" and path in ("assets/associate", "assets/disassociate"):
            return self._manage(path.split("/")[1], body)
        return 404, {"errorNumber": 9600, "errorMessage": "Unknown endpoint"}

    def _manage(self, verb: str, body: dict) -> tuple[int, dict]:
        (asset_ref,) = body["assets"]
        asset = self.assets.get(asset_ref["adamId"])
        if asset is None:
            return 400, {"errorNumber": 9610, "errorMessage": "License not found"}
        holders = [("clientUserId", c) for c in body.get("clientUserIds", [])] + [
            ("serialNumber", s) for s in body.get("serialNumbers", [])
        ]
        for key, value in holders:
            if key == "clientUserId" and value not in self.users:
                return 400, {"errorNumber": 9616, "errorMessage": "User not found"}
            found = [
                a
                for a in self.assignments
                if a["adamId"] == asset["adamId"] and a.get(key) == value
            ]
            if verb == "associate" and not found:
                if asset["availableCount"] <= 0:
                    return 400, {"errorNumber": 9709, "errorMessage": "No licenses available"}
                self.assignments.append(
                    {"adamId": asset["adamId"], "pricingParam": "STDQ", key: value}
                )
                asset["assignedCount"] += 1
                asset["availableCount"] -= 1
            elif verb == "disassociate" and found:
                self.assignments.remove(found[0])
                asset["assignedCount"] -= 1
                asset["availableCount"] += 1
        return 200, {
            "eventId": f"event-{verb}",
            "tokenExpirationDate": "2027-11-26T00:00:00+0000",
            "uId": "1",
        }
