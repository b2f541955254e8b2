"""Views of the MDM blueprint: thin adapters between HTTP and the MDM services.

Device-facing endpoints (`@external`) authenticate by bearer token or URL secret; every
refusal rolls back, writes an `mdm.refused` audit event with its reason, and answers 4xx.
They share one request budget per client address (`MDM_RATE_LIMIT`, then 429 with
`Retry-After`; counted in batches, see `portal.ratelimit.SharedBudget`), and the same
refusal repeated from one address is audited once per `MDM_REFUSAL_AUDIT_SECONDS` (the
repeats are counted in the log), so junk traffic cannot fill the audit table.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest

from .. import access_log, audit, caching, ratelimit
from ..access import external, public, role_required
from ..enrollment import journey, profile_service
from ..enrollment.lifecycle import IllegalTransition
from ..enrollment.profile_service import MDMSettings, NoProfileToDownload, ProfileUnavailable
from ..enrollment.service import EnrollmentInputError
from ..errors import render_error
from ..extensions import client_address, db, limiter
from ..htmx import render
from ..models import DeviceStatus, Role, utcnow
from . import binding, bp, checkin, connect, declarative, enroll, plist, plist_limits
from .errors import Conflict, MDMRefusal, TooLarge, Unauthenticated, UnsupportedMediaType

log = logging.getLogger(__name__)

CHECKIN_TYPE = "application/x-apple-aspen-mdm-checkin"
CONNECT_TYPE = "application/x-apple-aspen-mdm"
PROFILE_TYPE = "application/x-apple-aspen-config"
# Body sizes per endpoint; the other bounds of their plists are in plist_limits.
CHECKIN_MAX_BYTES = plist_limits.CHECKIN.max_bytes
ENROLL_MAX_BYTES = plist_limits.ENROLL.max_bytes
# Command results (app and profile lists with certificates) can be large.
CONNECT_MAX_BYTES = plist_limits.CONNECT.max_bytes
# Generous: every device behind one NAT shares the budget, and a device talks in bursts.
DEFAULT_RATE_LIMIT = "600 per minute"
DEFAULT_REFUSAL_AUDIT_SECONDS = 60
# Each download records a decision and signs a profile: a person needs a few.
DEFAULT_PROFILE_DOWNLOAD_LIMIT = "10 per hour"

device_limit = ratelimit.SharedBudget(
    "mdm-device", lambda: current_app.config.get("MDM_RATE_LIMIT", DEFAULT_RATE_LIMIT)
)


@bp.record_once
def _keep_secrets_out_of_access_logs(_state) -> None:
    access_log.install()


def _settings() -> MDMSettings:
    return MDMSettings.from_config(current_app.config)


def _read_body(limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge("body_too_large")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge("body_too_large")
    return data


def _bind() -> binding.Binding:
    return binding.bind(
        bearer=binding.bearer_token(request.headers.get("Authorization")),
        secret=request.args.get("e"),
    )


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        # Two requests of the same device raced (e.g. a retried Authenticate).
        raise Conflict("concurrent_update") from None


def _challenge() -> Response:
    """401 that makes the device open the web sign-in (the header must be exact)."""
    response = Response(b"", 401)
    url = _settings().url("/mdm/enroll/auth")
    response.headers["WWW-Authenticate"] = f'Bearer method="apple-as-web" url="{url}"'
    return response


@bp.errorhandler(IllegalTransition)
def _illegal_transition(error: IllegalTransition):
    return _refused(
        Conflict(f"illegal_transition:{error.current}->{error.target}", device=error.device)
    )


def _times_refused(reason: str, target: str) -> int:
    """How many times this address got this refusal in the current window (1: the first).

    Counted in the rate limiter's storage (shared by the workers when it is Redis); when
    that storage fails, in this process's memory.
    """
    if not limiter.enabled:
        return 1
    window = int(current_app.config.get("MDM_REFUSAL_AUDIT_SECONDS", DEFAULT_REFUSAL_AUDIT_SECONDS))
    key = "/".join(("mdm-refused", client_address(), request.endpoint or "", reason, target))
    return ratelimit.incr(key, window)


def _audit_refusal(
    reason: str,
    status: int,
    *,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: str = "",
) -> None:
    """Write the `mdm.refused` audit event, unless it repeats one of the current window."""
    times = _times_refused(reason, f"{target_type}:{target_id}" if target_type else "")
    if times > 1:
        log.info(
            "MDM request refused on %s: %s (%s), %d times from %s in this window, audited once",
            request.endpoint,
            reason,
            status,
            times,
            client_address(),
        )
        return
    after = {"reason": reason, "endpoint": request.endpoint, "status": status}
    if detail:
        after["detail"] = detail
    audit.record(
        None,
        "mdm.refused",
        channel="mdm",
        target_type=target_type,
        target_id=target_id,
        after=after,
    )
    db.session.commit()
    log.info("MDM request refused on %s: %s (%s)", request.endpoint, reason, status)


@bp.errorhandler(MDMRefusal)
def _refused(error: MDMRefusal):
    device_id = error.device.id if error.device is not None else None
    db.session.rollback()
    if error.audited:
        _audit_refusal(
            error.reason,
            error.status,
            target_type="device" if device_id is not None else None,
            target_id=device_id,
            detail=error.detail,
        )
    else:
        log.info("MDM request refused on %s: %s (%s)", request.endpoint, error.reason, error.status)
    if request.endpoint == "mdm.enroll_device" and isinstance(error, Unauthenticated):
        return _challenge()
    return Response(b"", error.status, mimetype="text/plain")


def _mobileconfig(signed: profile_service.SignedProfile) -> Response:
    response = Response(signed.content, 200, mimetype=PROFILE_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{signed.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- the employee's profile download ---------------------------------------------------


def _person_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return f"address:{client_address()}"


@bp.get("/enroll/profile")
@role_required(Role.EMPLOYEE)
@limiter.limit(
    lambda: current_app.config.get("PROFILE_DOWNLOAD_LIMIT", DEFAULT_PROFILE_DOWNLOAD_LIMIT),
    key_func=_person_key,
    scope="profile-download",
)
def profile():
    """The enrollment profile for the signed-in person's device (`platform`, `os`)."""
    settings = _settings()
    try:
        signed = profile_service.download_profile(
            current_user._get_current_object(),
            platform=request.args.get("platform", ""),
            os_version=request.args.get("os", ""),
            settings=settings,
            reenroll=request.args.get("reenroll"),
        )
        content = _mobileconfig(signed)
        db.session.commit()
    except journey.DeviceLimitReached as exc:
        db.session.rollback()
        return render_error(409, str(exc))
    except EnrollmentInputError as exc:
        db.session.rollback()
        error = BadRequest(description=str(exc))
        error.portal_detail = True
        raise error from None
    except NoProfileToDownload as exc:
        db.session.commit()  # keeps the recorded decision
        return render("mdm/no_profile.html", status=409, reason=exc.reason, platform=exc.platform)
    except ProfileUnavailable as exc:
        db.session.rollback()
        log.error("enrollment profile unavailable: %s", exc)
        return render("mdm/profile_unavailable.html", status=503)
    return content


# --- account-driven User Enrollment ----------------------------------------------------


@bp.get("/.well-known/com.apple.remotemanagement")
@public
@device_limit
def discovery():
    """Service discovery for account-driven enrollment (`user-identifier`, `model-family`).

    The answer depends only on the person and the organization's settings: each process
    keeps it `DISCOVERY_CACHE_SECONDS` (a device asks several times while enrolling).
    """
    identifier = request.args.get("user-identifier")
    family = request.args.get("model-family")

    def decide() -> tuple[dict | None, tuple[str, int | None] | None]:
        try:
            return enroll.discover(identifier, family, _settings()), None
        except enroll.DiscoveryRefused as exc:
            user_id = exc.user.id if exc.user is not None else None
            db.session.rollback()
            return None, (exc.reason, user_id)

    key = ((identifier or "").strip().lower()[: enroll.MAX_IDENTIFIER + 1], family or "")
    answers = caching.cache("discovery", "DISCOVERY_CACHE_SECONDS", 30)
    document, refusal = answers.get_or_compute(key, decide)
    if refusal is not None:
        reason, user_id = refusal
        _audit_refusal(
            reason, 403, target_type="user" if user_id is not None else None, target_id=user_id
        )
        message = _("This account cannot enroll a personal device here.")
        return jsonify(code="com.apple.well-known.failed", message=message), 403
    return jsonify(document)


@bp.post("/mdm/enroll")
@external
@device_limit
def enroll_device():
    """The device's enrollment request: 401 to sign in first, then the profile."""
    info = enroll.machine_info(_read_body(ENROLL_MAX_BYTES), limit=ENROLL_MAX_BYTES)
    bearer = binding.bearer_token(request.headers.get("Authorization"))
    if bearer is None:
        return _challenge()  # the protocol's first step, not a refusal
    signed = enroll.profile_for_token(bearer, info, _settings())
    response = _mobileconfig(signed)
    _commit()
    return response


@bp.get("/mdm/enroll/auth")
@role_required(Role.EMPLOYEE)
def enroll_auth():
    """End of the device's web sign-in: 308 to the callback with an access token."""
    identifier = request.args.get("user-identifier", "")[: enroll.MAX_IDENTIFIER]
    platform = enroll.platform_from_user_agent(request.user_agent.string or "")
    try:
        token = enroll.authorize(
            current_user._get_current_object(),
            user_identifier=identifier,
            platform=platform,
            settings=_settings(),
        )
    except enroll.WrongAccount:
        db.session.rollback()
        return render(
            "mdm/wrong_account.html", status=403, identifier=identifier, next_url=request.full_path
        )
    except enroll.NotUserEnrollment as exc:
        db.session.rollback()
        return render("mdm/not_user_enrollment.html", status=403, decision=exc.decision)
    db.session.commit()
    response = Response(b"", 308)
    response.headers["Location"] = enroll.callback_url(token)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- check-in and commands -------------------------------------------------------------


@bp.put("/mdm/checkin")
@external
@device_limit
def checkin_message():
    """Check-in: Authenticate, TokenUpdate, CheckOut, Set/GetBootstrapToken
    (UserAuthenticate declined, 410)."""
    if request.mimetype != CHECKIN_TYPE:
        raise UnsupportedMediaType("wrong_content_type", detail=request.mimetype[:100])
    body = _read_body(CHECKIN_MAX_BYTES)
    bound = _bind()
    message = plist_limits.parse(body, plist_limits.CHECKIN)
    now = utcnow()
    settings = _settings()
    if message.get("MessageType") == declarative.MESSAGE_TYPE:
        body = declarative.handle(bound.device, message, now, prefix=settings.profile_prefix)
        binding.accepted(bound, token_days=settings.access_token_days, now=now)
        _commit()
        if body:
            return Response(body, 200, mimetype="application/json")
        return Response(b"", 200)
    answer = checkin.handle(
        bound.device,
        message,
        now,
        secret_key=settings.secret_key,
        ask_facts=settings.device_facts,
    )
    binding.accepted(bound, token_days=settings.access_token_days, now=now)
    _commit()
    if answer.body is None:
        return Response(b"", 200)
    return Response(plist.dumps(answer.body), 200, mimetype="application/xml")


@bp.put("/mdm/connect")
@external
@device_limit
def connect_report():
    """Command channel: record a result, answer with the next command or an empty body."""
    if request.mimetype not in ("", CONNECT_TYPE):
        raise UnsupportedMediaType("wrong_content_type", detail=request.mimetype[:100])
    body = _read_body(CONNECT_MAX_BYTES)
    bound = _bind()
    now = utcnow()
    try:
        report = plist_limits.parse(body, plist_limits.CONNECT)
    except plist_limits.BeyondBounds as exc:
        exc.device = bound.device
        if exc.message is not None and bound.device.status == DeviceStatus.ENROLLED:
            connect.refuse_result(bound.device, exc.message, exc.reason, now)
            db.session.commit()
        raise
    config = current_app.config
    command = connect.handle_report(
        bound.device,
        report,
        now,
        resend_after=timedelta(
            seconds=int(
                config.get("MDM_COMMAND_RESEND_SECONDS", connect.RESEND_AFTER.total_seconds())
            )
        ),
        max_attempts=int(config.get("MDM_COMMAND_MAX_ATTEMPTS", connect.MAX_ATTEMPTS)),
    )
    binding.accepted(bound, token_days=_settings().access_token_days, now=now)
    payload = connect.command_plist(command) if command is not None else b""
    _commit()
    if not payload:
        return Response(b"", 200)
    return Response(payload, 200, mimetype="application/xml")
