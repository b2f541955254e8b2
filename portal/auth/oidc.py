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
from urllib.parse import urlsplit

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
ISSUER_TITLE = _l("Your company's sign-in is not set up correctly")
# Shown when the provider names another issuer than the one configured: the person can do
# nothing about it, but the helpdesk can pass the reason on to whoever runs the portal.
ISSUER_MISMATCH = _l(
    "The sign-in service presents itself as “%(seen)s”, but this portal is set up for "
    "“%(expected)s”, so it cannot trust it. Tell your IT helpdesk: the portal's "
    "OIDC_ISSUER setting needs correcting (for Entra ID's common or organizations "
    "endpoints, or a tenant given by its domain name, OIDC_ALLOWED_TENANTS lists the "
    "tenants allowed)."
)
TENANT_NOT_ALLOWED = _l(
    "Your organization's directory is not one this portal accepts sign-ins from. If you "
    "should be able to sign in here, tell your IT helpdesk."
)
# Entra ID's multi-tenant discovery names its issuer with this placeholder.
TENANT_PLACEHOLDER = "{tenantid}"


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


def allowed_tenants(config) -> frozenset[str]:
    """OIDC_ALLOWED_TENANTS: Entra tenant ids (GUIDs), lower-cased."""
    raw = config.get("OIDC_ALLOWED_TENANTS") or ""
    if isinstance(raw, str):
        raw = raw.replace(";", ",").split(",")
    return frozenset(t.strip().lower() for t in raw if t and t.strip())


@dataclass(frozen=True)
class IssuerRule:
    """Which `iss` an ID token may carry, from the provider's metadata and the settings.

    `issuer` is the one issuer expected, or a template with Entra's `{tenantid}`
    placeholder (the multi-tenant `common` and `organizations` endpoints), whose tenant
    must then be one of `tenants`.
    """

    issuer: str
    tenants: frozenset[str]

    @property
    def templated(self) -> bool:
        return TENANT_PLACEHOLDER in self.issuer

    def accepts(self, iss, tid=None) -> bool:
        if not isinstance(iss, str):
            return False
        if self.tenants and tid is not None and str(tid).lower() not in self.tenants:
            return False
        if not self.templated:
            return iss == self.issuer
        if not isinstance(tid, str) or tid.lower() not in self.tenants:
            return False
        return iss == self.issuer.replace(TENANT_PLACEHOLDER, tid)

    def accepts_response_iss(self, iss: str) -> bool:
        """RFC 9207's `iss` on the authorization response (no tenant claim to go by)."""
        if not self.templated:
            return iss == self.issuer
        return any(iss == self.issuer.replace(TENANT_PLACEHOLDER, t) for t in self.tenants)


def issuer_rule(configured: str, published: str, tenants: frozenset[str]) -> IssuerRule:
    """The rule for a provider configured as `configured` that publishes `published`.

    Raises ValueError with the reason when the two cannot be reconciled: a different
    issuer is accepted only as Entra names a tenant given by its domain name (the same
    server, the tenant's GUID in place of the name, the GUID allowed).
    """
    if published.rstrip("/") == configured.rstrip("/"):
        return IssuerRule(published, tenants)
    same_server = urlsplit(published)[:2] == urlsplit(configured)[:2]
    if TENANT_PLACEHOLDER in published:
        if not same_server:
            raise ValueError("the multi-tenant issuer is on another server")
        if not tenants:
            raise ValueError("a multi-tenant endpoint needs OIDC_ALLOWED_TENANTS")
        return IssuerRule(published, tenants)
    segments = {part.lower() for part in urlsplit(published).path.split("/") if part}
    if same_server and tenants and segments & tenants:
        return IssuerRule(published, tenants)
    raise ValueError(f"the provider names the issuer {published!r}, not {configured!r}")


def _metadata(client) -> tuple[dict, IssuerRule]:
    """The provider's metadata, checked to be the configured issuer's own, and the rule
    the ID token's `iss` must follow."""
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise OidcFailure(*UNREACHABLE_FAILURE, log_detail=f"metadata: {exc}") from exc
    published = str(metadata.get("issuer", ""))
    try:
        rule = issuer_rule(_issuer(), published, allowed_tenants(current_app.config))
    except ValueError as exc:
        # Cached metadata would keep the mismatch: forget it so a fix is picked up.
        client.server_metadata.pop("_loaded_at", None)
        message = ISSUER_MISMATCH % {"seen": published[:200], "expected": _issuer()[:200]}
        raise OidcFailure(502, ISSUER_TITLE, message, log_detail=f"issuer: {exc}") from exc
    return metadata, rule


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
    _metadata_doc, rule = _metadata(client)
    if args.get("iss") and not rule.accepts_response_iss(args["iss"]):
        # RFC 9207: the answer names another issuer than the one we asked (mix-up attack).
        client.framework.clear_state_data(session, state)
        raise OidcFailure(*TOKEN_FAILURE, log_detail="authorization response from another issuer")
    claims_options = {
        "iss": {"essential": True, "validate": lambda claims, iss: _iss_ok(rule, claims, iss)},
        "aud": {"essential": True, "value": client.client_id},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "sub": {"essential": True},
    }
    try:
        token = client.authorize_access_token(claims_options=claims_options, leeway=LEEWAY)
    except MismatchingStateError as exc:
        raise OidcFailure(*STATE_FAILURE, log_detail="mismatching state") from exc
    except _TenantRefused as exc:
        raise OidcFailure(
            403, NO_ACCOUNT_TITLE, TENANT_NOT_ALLOWED, log_detail=f"tenant {exc} not allowed"
        ) from exc
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


class _TenantRefused(Exception):
    pass


def _iss_ok(rule: IssuerRule, claims, iss) -> bool:
    tid = claims.get("tid")
    if rule.accepts(iss, tid):
        return True
    if rule.tenants and tid is not None and str(tid).lower() not in rule.tenants:
        raise _TenantRefused(str(tid)[:64])
    return False


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
    try:
        issuer_rule(issuer, str(metadata.get("issuer", "")), allowed_tenants(current_app.config))
    except ValueError as exc:
        raise MetadataProblem(str(exc)) from exc
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
