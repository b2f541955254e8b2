"""A tiny local OpenID provider whose ID tokens each test writes itself.

It serves discovery, a JWKS and a token endpoint on 127.0.0.1 (a thread), so the portal's
real Authlib code fetches and verifies everything over HTTP; the test decides what the
ID token says (wrong audience, expired, bad signature…). The happy path end to end uses
the real provider (`oidc_provider.py`); this one is for what a real provider never sends.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "fake-client"
CLIENT_SECRET = "fake-secret"  # noqa: S105


_KEYS: list[RSAKey] = []


def signing_key() -> RSAKey:
    """One RSA key per test run (making one takes a while)."""
    if not _KEYS:
        _KEYS.append(RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}))
    return _KEYS[0]


class FakeIdp:
    def __init__(self):
        self.key = signing_key()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.token_requests: list[dict] = []
        # What the next token request answers; set by tests (see `id_token`).
        self.token_response: dict | None = None
        self.token_status = 200
        self.metadata_overrides: dict = {}
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> FakeIdp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def settings(self, **overrides) -> dict:
        config = {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        }
        config.update(overrides)
        return config

    def metadata(self) -> dict:
        data = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }
        data.update(self.metadata_overrides)
        return data

    def claims(self, nonce: str, /, **changes) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "user-1",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": "alice@example.com",
            "name": "Alice Martin",
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def id_token(self, claims: dict, key: RSAKey | None = None, alg: str = "RS256") -> str:
        return jwt.encode({"alg": alg, "kid": "k1"}, claims, key or self.key)

    def answer_with(self, claims: dict, key: RSAKey | None = None) -> None:
        self.token_response = {
            "access_token": "at-" + str(time.time()),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(claims, key),
        }

    def _handler(self):
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = urlsplit(self.path).path
                # Under any path too, as Entra's `/<tenant>/v2.0/.well-known/…` documents.
                if path.endswith("/.well-known/openid-configuration"):
                    self._json(200, idp.metadata())
                elif path == "/jwks":
                    self._json(200, {"keys": [idp.key.as_dict(private=False)]})
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                form["authorization"] = self.headers.get("Authorization", "")
                idp.token_requests.append(form)
                if idp.token_response is None:
                    self._json(400, {"error": "invalid_grant"})
                else:
                    self._json(idp.token_status, idp.token_response)
                    idp.token_response = None  # a code is good once

        return Handler
