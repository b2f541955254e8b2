"""OpenID Connect sign-in (Entra ID or any provider by its issuer URL), with Authlib.

Authorization code with PKCE (S256), `state` and `nonce` kept in the signed session by
Authlib, together with where to go afterwards (`next`): nothing the provider sends back
can change it. The ID token is checked for signature (the provider's JWKS), issuer,
audience, expiry, issue time and nonce. Nothing here touches the network when the app is
created: the provider's metadata is fetched on the first sign-in.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, session
from flask_babel import lazy_gettext as _l
from joserfc.errors import JoseError

log = logging.getLogger(__name__)

NAME = "oidc"
EXTENSION = "portal.oidc"
# Clock difference tolerated on `exp` and `iat`, in seconds.
LEEWAY = 60
# Sign-ins started but not finished that one browser may keep (several tabs).
MAX_PENDING = 3


class OidcFailure(Exception):
    """The sign-in cannot finish: `status` for the page, `title`/`message` for the person."""

    def __init__(self, status: int, title, message, log_detail: str = ""):
        super().__init__(log_detail or str(title))
        self.status = status
        self.title = title
        self.message = message


STATE_FAILURE = (
    400,
    _l("This sign-in link is no longer valid"),
    _l(
        "The sign-in was started in another window, took too long, or was already used. "
        "Start again from the sign-in page."
    ),
)
TOKEN_FAILURE = (
    401,
    _l("Your company's sign-in could not be verified"),
    _l(
        "The answer from the sign-in service was not valid for this portal, so you were not "
        "signed in. Try again; if it keeps happening, tell your IT helpdesk."
    ),
)
REFUSED_FAILURE = (
    401,
    _l("The sign-in was cancelled"),
    _l("Your company's sign-in service did not sign you in. Try again from the sign-in page."),
)
UNREACHABLE_FAILURE = (
    502,
    _l("Your company's sign-in service cannot be reached"),
    _l(
        "Try again in a few minutes, or sign in another way. If it persists, tell your IT helpdesk."
    ),
)


NO_ACCOUNT_TITLE = _l("No portal account for you yet")


@dataclass(frozen=True)
class Pending:
    """What a finished sign-in hands back: the verified claims and where to go next."""

    claims: dict
    next: str


def init_app(app: Flask) -> None:
    """Register the provider when OIDC_ISSUER is set (no network: metadata loads lazily)."""
    issuer = (app.config.get("OIDC_ISSUER") or "").strip()
    if not issuer or not app.config.get("OIDC_CLIENT_ID"):
        return
    oauth = OAuth(app)
    oauth.register(
        NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config.get("OIDC_CLIENT_SECRET") or None,
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": app.config.get("OIDC_SCOPES") or "openid email profile",
            "code_challenge_method": "S256",
            "default_timeout": app.config.get("OIDC_TIMEOUT", 10),
        },
    )
    app.extensions[EXTENSION] = oauth


def configured() -> bool:
    return EXTENSION in current_app.extensions


def button_label() -> str | None:
    """The label of the company sign-in button, or None when OIDC is not configured."""
    if not configured():
        return None
    return current_app.config.get("OIDC_BUTTON_LABEL") or str(
        _l("Sign in with your company account")
    )


def _client():
    return current_app.extensions[EXTENSION].create_client(NAME)


def _issuer() -> str:
    return current_app.config["OIDC_ISSUER"].strip()


def _metadata(client) -> dict:
    """The provider's metadata, checked to be the configured issuer's own."""
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise OidcFailure(*UNREACHABLE_FAILURE, log_detail=f"metadata: {exc}") from exc
    if str(metadata.get("issuer", "")).rstrip("/") != _issuer().rstrip("/"):
        # Cached metadata would keep the mismatch: forget it so a fix is picked up.
        client.server_metadata.pop("_loaded_at", None)
        raise OidcFailure(*UNREACHABLE_FAILURE, log_detail="metadata issuer mismatch")
    return metadata


def start(redirect_uri: str, next_target: str) -> str:
    """Begin a sign-in; returns the provider's authorization URL to redirect to."""
    client = _client()
    _metadata(client)
    try:
        authorization = client.create_authorization_url(redirect_uri)
    except (requests.RequestException, AuthlibBaseError, RuntimeError) as exc:
        raise OidcFailure(*UNREACHABLE_FAILURE, log_detail=str(exc)) from exc
    url = authorization.pop("url")
    _forget_old_attempts()
    client.save_authorize_data(redirect_uri=redirect_uri, next=next_target, **authorization)
    return url


def _forget_old_attempts() -> None:
    prefix = f"_state_{NAME}_"
    pending = sorted(
        (k for k in session if k.startswith(prefix)),
        key=lambda k: (session[k] or {}).get("exp", 0),
    )
    for key in pending[: max(len(pending) - (MAX_PENDING - 1), 0)]:
        session.pop(key, None)


def finish(args) -> Pending:
    """Finish a sign-in from the callback's query `args`; raises OidcFailure."""
    client = _client()
    state = args.get("state") or ""
    data = client.framework.get_state_data(session, state) if state else None
    if not data:
        raise OidcFailure(*STATE_FAILURE, log_detail="unknown or used state")
    metadata = _metadata(client)
    if args.get("iss") and args["iss"] != metadata["issuer"]:
        # RFC 9207: the answer names another issuer than the one we asked (mix-up attack).
        client.framework.clear_state_data(session, state)
        raise OidcFailure(*TOKEN_FAILURE, log_detail="authorization response from another issuer")
    claims_options = {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": client.client_id},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "sub": {"essential": True},
    }
    try:
        token = client.authorize_access_token(claims_options=claims_options, leeway=LEEWAY)
    except MismatchingStateError as exc:
        raise OidcFailure(*STATE_FAILURE, log_detail="mismatching state") from exc
    except OAuthError as exc:
        failure = REFUSED_FAILURE if args.get("error") else TOKEN_FAILURE
        raise OidcFailure(*failure, log_detail=f"{exc.error}: {exc.description}") from exc
    except (JoseError, AuthlibBaseError, ValueError, KeyError, TypeError) as exc:
        raise OidcFailure(*TOKEN_FAILURE, log_detail=f"ID token: {exc!r}") from exc
    except requests.RequestException as exc:
        raise OidcFailure(*UNREACHABLE_FAILURE, log_detail=f"token endpoint: {exc}") from exc
    finally:
        client.framework.clear_state_data(session, state)
    claims = token.get("userinfo")
    if not claims:
        raise OidcFailure(*TOKEN_FAILURE, log_detail="no ID token in the token response")
    return Pending(claims=dict(claims), next=str(data.get("next") or ""))


class MetadataProblem(Exception):
    """The issuer's discovery document cannot be used; the message says why (for admins)."""


def check_metadata(issuer: str, timeout: int = 5) -> dict:
    """Fetch and check the issuer's discovery document (the admin's "check" button)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    started = time.monotonic()
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
        metadata = response.json()
    except requests.RequestException as exc:
        raise MetadataProblem(f"{url} cannot be fetched: {exc.__class__.__name__}") from exc
    except ValueError as exc:
        raise MetadataProblem(f"{url} is not a JSON document") from exc
    if not isinstance(metadata, dict):
        raise MetadataProblem(f"{url} is not a discovery document")
    if str(metadata.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise MetadataProblem(
            f"the document names the issuer {metadata.get('issuer')!r}, not {issuer!r}"
        )
    missing = [
        k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if k not in metadata
    ]
    if missing:
        raise MetadataProblem("the document lacks " + ", ".join(missing))
    return {
        "issuer": metadata["issuer"],
        "authorization_endpoint": metadata["authorization_endpoint"],
        "jwks_uri": metadata["jwks_uri"],
        "pkce_s256": "S256" in (metadata.get("code_challenge_methods_supported") or []),
        "elapsed_ms": int((time.monotonic() - started) * 1000),
    }
