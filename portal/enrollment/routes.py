"""The employee's enrollment page: decision, steps, live status, link and QR code."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, make_response, redirect, request, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..access import role_required, safe_next
from ..auth import loads_with_session, session_value
from ..extensions import db
from ..htmx import render
from ..invitations import service as invitations
from ..invitations.service import InvitationSettings
from ..models import InvitationSender, Role, User
from ..pool import reads_only
from . import guide_context, journey, lifecycle, qr
from . import service as enrollment_service

bp = Blueprint("enrollment", __name__, url_prefix="/enroll")


def enroll_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(".start")


def _context(**extra) -> dict:
    return {
        "enroll_url": enroll_url(),
        "current": invitations.current_invitation(current_user),
        **extra,
    }


def _guide(me) -> dict:
    agent = request.user_agent.string
    return guide_context.build(
        me,
        *guide_context.choose_device(request.args, agent),
        user_agent=agent,
        reenroll=request.args.get("reenroll"),
        after_id=guide_context.parse_after(request.args.get("after")),
        device_limit=int(current_app.config.get("MAX_DEVICES_PER_USER", 0) or 0),
    )


@bp.get("")
@role_required(Role.EMPLOYEE)
def start():
    """The decision, the device choice, the steps with live status, the QR code and link."""
    me = current_user._get_current_object()
    return render(
        "enrollment/start.html",
        "enrollment/_guide.html",
        **_context(
            **_guide(me),
            unfinished=journey.unfinished(me),
            personal_request=journey.open_personal_request(me),
        ),
    )


# Built once, as every statement of the poll (building one costs more than running it).
_FINGERPRINT_OF_USER = {
    by_platform: lifecycle.fingerprint_of(User.id, by_platform=by_platform)
    for by_platform in (True, False)
}


def _fingerprint_with_session() -> tuple:
    platform = guide_context.choose_device(request.args, request.user_agent.string)[0]
    return _FINGERPRINT_OF_USER[bool(platform)], lifecycle.fingerprint_params(platform)


@bp.get("/status")
@role_required(Role.EMPLOYEE)
@reads_only
@loads_with_session(_fingerprint_with_session)
def status():
    """The live status fragment; it stops polling once the device is enrolled.

    Polled every few seconds by everyone enrolling: the fragment carries an ETag made from
    the person's newest enrollment, read with the session in one statement, and a poll that
    brings it back is answered `304 Not Modified` without building the guide again.
    """
    me = current_user._get_current_object()
    platform, os_range, _guessed = guide_context.choose_device(
        request.args, request.user_agent.string
    )
    etag = _status_etag(me, platform, os_range.key)
    if request.if_none_match.contains_weak(etag):
        response = make_response("", 304)
    else:
        response = render("enrollment/_status.html", "enrollment/_status.html", **_guide(me))
    response.set_etag(etag, weak=True)
    # Personal: never stored (the poll's script sends the ETag back itself).
    response.vary.add("HX-Request")
    return response


def _status_etag(user, platform, os_key: str) -> str:
    facts = "/".join(
        (
            str(user.id),
            str(platform),
            str(os_key),
            str(request.args.get("reenroll", "")),
            str(request.args.get("after", "")),
            str(get_locale()),
            _status_template_version(),
            str(session_value(lambda: lifecycle.status_fingerprint(user, platform=platform))),
        )
    )
    return hashlib.sha256(facts.encode()).hexdigest()[:32]


@functools.cache
def _status_template_version() -> str:
    source = Path(current_app.template_folder, "enrollment", "_status.html")
    try:
        return hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    except OSError:
        return "0"


@bp.post("/personal")
@role_required(Role.EMPLOYEE)
def personal_device():
    """ "This is my personal phone": ask IT to look at the Device Enrollment decision again."""
    me = current_user._get_current_object()
    platform = request.form.get("platform", "ios")
    try:
        journey.request_personal_review(
            me,
            platform=enrollment_service.parse_platform(platform).value,
            note=request.form.get("note", ""),
        )
    except (journey.NoteTooLong, enrollment_service.EnrollmentInputError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".start", platform=platform))
    db.session.commit()
    flash(
        _(
            "Thank you. IT has your request and will answer you by e-mail at %(email)s. "
            "Until then, do not enroll this device.",
            email=me.email,
        ),
        "success",
    )
    return redirect(url_for(".start", platform=platform))


@bp.post("/unfinished/<int:device_id>/cancel")
@role_required(Role.EMPLOYEE)
def cancel_unfinished(device_id: int):
    """Cancel an enrollment whose profile was downloaded and never installed."""
    try:
        journey.cancel_unfinished(current_user._get_current_object(), device_id)
    except journey.NotYourDevice:
        db.session.rollback()
        abort(404)
    except journey.NotUnfinished as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("devices.index"))
    db.session.commit()
    flash(_("The unfinished enrollment was cancelled."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("devices.index"))


@bp.post("/link")
@role_required(Role.EMPLOYEE)
def send_link():
    """E-mail the signed-in person a fresh personal link (rate-limited per person)."""
    status = 200
    error = notice = None
    try:
        me = current_user._get_current_object()
        invitations.invite(
            me,
            actor=me,
            sent_by=InvitationSender.SYSTEM,
            channel="web",
            settings=InvitationSettings.from_config(current_app.config),
        )
        db.session.commit()
        notice = _("We sent a new link to %(email)s.", email=current_user.email)
    except invitations.ResendLimitReached as exc:
        db.session.rollback()
        status = 429
        error = _(
            "You asked for %(limit)s links in the last hour. You can ask again at %(time)s.",
            limit=exc.limit,
            time=format_datetime(exc.next_possible_at, "short"),
        )
    except invitations.UserCannotBeInvited:
        db.session.rollback()
        status = 409
        error = _("Your account cannot receive invitations. Ask your IT helpdesk.")
    if request.headers.get("HX-Request"):
        return render(
            "enrollment/_invitation.html", status=status, **_context(error=error, notice=notice)
        )
    flash(error or notice, "error" if error else "success")
    return redirect(url_for(".start"))


def _image(body: bytes, mimetype: str):
    etag = hashlib.sha256(body).hexdigest()[:32]
    response = make_response(body)
    response.mimetype = mimetype
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response.make_conditional(request)


@bp.get("/qr.svg")
@role_required(Role.EMPLOYEE)
def qr_svg():
    """The QR code of this page's address, to scan with the device to enroll."""
    return _image(qr.cached_svg(enroll_url()), "image/svg+xml")


@bp.get("/qr.png")
@role_required(Role.EMPLOYEE)
def qr_png():
    """The same QR code as a PNG image."""
    return _image(qr.cached_png(enroll_url()), "image/png")
