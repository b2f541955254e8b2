"""A real OpenID provider for tests: panva's oidc-provider (npm), run by Node.

`tests/support/oidc/` holds its package.json, lock file and script; `npm ci` installs it
the first time. Its development login page accepts any login and password: the login
becomes the account's `sub`, `email` and `preferred_username`.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from .ldap_server import free_port

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "portal-tests"
CLIENT_SECRET = "portal-tests-secret"  # noqa: S105
FORM_RE = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post">(.*?)</form>', re.S)
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def _node() -> str:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node and npm:
        return node
    message = "Node.js is not installed (apt-get install nodejs npm)"
    if os.environ.get("CI"):
        pytest.fail(message + ": CI must run the OpenID Connect tests")
    pytest.skip(message)


def install() -> None:
    """`npm ci` once, when node_modules is missing (CI does it before the suite)."""
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    subprocess.run(  # noqa: S603
        [shutil.which("npm") or "npm", "ci", "--silent", "--no-audit", "--no-fund"],
        cwd=HERE,
        check=True,
        timeout=300,
    )


class OidcProvider:
    def __init__(self, workdir: Path, redirect_uris: list[str]):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.redirect_uris = redirect_uris
        self.config_path = workdir / "oidc-provider.json"
        self.addresses_path = workdir / "oidc-addresses.json"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        node = _node()
        install()
        self.config_path.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "addresses": str(self.addresses_path),
                    "clients": [
                        {
                            "client_id": CLIENT_ID,
                            "client_secret": CLIENT_SECRET,
                            "redirect_uris": self.redirect_uris,
                        }
                    ],
                }
            )
        )
        self.process = subprocess.Popen(  # noqa: S603
            [node, str(HERE / "provider.mjs"), str(self.config_path)],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("READY"):
                return
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("oidc-provider did not start")

    def give_address(self, subject: str, address: str | None) -> None:
        """From the next sign-in, `subject`'s e-mail is `address` (None: its login)."""
        import json as _json

        current = {}
        if self.addresses_path.exists():
            current = _json.loads(self.addresses_path.read_text())
        if address is None:
            current.pop(subject, None)
        else:
            current[subject] = address
        self.addresses_path.write_text(_json.dumps(current))

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process.stdout.close()
        self.process = None

    def settings(self, **overrides) -> dict:
        config = {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        }
        config.update(overrides)
        return config


def _form(page: str) -> tuple[str, dict]:
    match = FORM_RE.search(page)
    assert match, "no form on the provider's page"
    return html.unescape(match.group(1)), dict(HIDDEN_RE.findall(match.group(2)))


def sign_in_at_provider(authorize_url: str, login: str, stop_at: str) -> str:
    """Log in and consent on the provider's pages; returns the URL it sends back to."""
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=True, timeout=10)
    for fields in ({"login": login, "password": "any"}, {}):
        action, data = _form(response.text)
        data.update(fields)
        response = browser.post(action, data=data, allow_redirects=False, timeout=10)
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(stop_at):
                return location
            response = browser.get(location, allow_redirects=False, timeout=10)
    raise AssertionError("the provider did not send the browser back")
