"""The /go link, and inviting people from the admin pages (htmx)."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..access import public, role_required, safe_next
from ..extensions import db, limiter
from ..htmx import render
from ..models import Group, InvitationSender, Role, User, utcnow
from . import bp, groups, service
from .service import InvitationSettings, LinkState

GONE = {LinkState.EXPIRED, LinkState.REVOKED, LinkState.USED}


def settings() -> InvitationSettings:
    return InvitationSettings.from_config(current_app.config)


def _no_store(response):
    # The token is in the URL: keep it out of shared caches and history snapshots.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/go/<token>")
@public
@limiter.limit(lambda: current_app.config["GO_RATE_LIMIT"], scope="go-link")
def go(token: str):
    """The invitation link: sign in if needed, then on to the enrollment page."""
    state, invitation = service.lookup(token)
    if state is not LinkState.VALID:
        status = 410 if state in GONE else 404
        page = render_template("invitations/link_state.html", state=state.value)
        return _no_store(current_app.make_response((page, status)))
    if invitation.opened_at is None:
        # The rollout funnel's "link opened", before any sign-in.
        invitation.opened_at = utcnow()
        db.session.commit()
    if not current_user.is_authenticated:
        return _no_store(redirect(url_for("auth.login", next=url_for(".go", token=token))))
    if invitation.user_id != current_user.id:
        page = render_template("invitations/wrong_account.html")
        return _no_store(current_app.make_response((page, 403)))
    service.mark_used(invitation, user=current_user._get_current_object())
    db.session.commit()
    return _no_store(redirect(url_for("enrollment.start")))


# -- admin and helpdesk ----------------------------------------------------------------------


def _target_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


SENDER_LABELS = {
    InvitationSender.SYSTEM: _l("the person (self-service)"),
    InvitationSender.IMPORT: _l("directory import"),
    InvitationSender.ADMIN: _l("an administrator"),
    InvitationSender.HELPDESK: _l("the helpdesk"),
    InvitationSender.SLACK: _l("Slack"),
}


def sender_label(sender: str) -> str:
    return str(SENDER_LABELS.get(InvitationSender(sender), sender))


def prefetch(users) -> None:
    """Look up the current invitation of every person of a list at once, for its rows."""
    g.current_invitations = service.current_invitations([user.id for user in users])


def invitation_info(user: User, history: bool = True) -> dict:
    """What the invitation panel and row button show about `user` (template global)."""
    prefetched = g.get("current_invitations") or {}
    if user.id in prefetched:
        current = prefetched[user.id]
    else:
        current = service.current_invitation(user)
    return {
        "current": current,
        "live": current is not None and service.state_of(current) is LinkState.VALID,
        "history": service.history(user) if history else [],
    }


@bp.post("/admin/users/<int:user_id>/invite")
@role_required(Role.HELPDESK)
def invite_user(user_id: int):
    """Invite a person, or resend their link (the previous one stops working)."""
    user = _target_user(user_id)
    variant = "row" if request.args.get("variant") == "row" else "panel"
    fragment = "invitations/_row_button.html" if variant == "row" else "invitations/_panel.html"
    error = None
    status = 200
    try:
        service.invite(
            user,
            actor=current_user._get_current_object(),
            sent_by=service.sender_for(current_user),
            channel="web",
            settings=settings(),
        )
        db.session.commit()
    except service.ResendLimitReached as exc:
        db.session.rollback()
        status = 429
        error = _(
            "This person was sent %(limit)s invitations in the last hour. "
            "The next one is possible at %(time)s.",
            limit=exc.limit,
            time=format_datetime(exc.next_possible_at, "short"),
        )
    except service.UserCannotBeInvited:
        db.session.rollback()
        status = 409
        error = _("This account is deactivated or has no e-mail address: it cannot be invited.")
    notice = None if error else _("Invitation sent to %(email)s.", email=user.email)
    if request.headers.get("HX-Request"):
        return render(fragment, status=status, invitee=user, error=error, notice=notice)
    flash(error or notice, "error" if error else "success")
    return redirect(safe_next(request.form.get("next")) or url_for("main.home"))


@bp.post("/admin/groups/<int:group_id>/invite")
@role_required(Role.ADMIN)
def invite_group(group_id: int):
    """Invite every member of a group who has no live invitation yet."""
    group = db.session.get(Group, group_id)
    if group is None:
        abort(404)
    result = groups.invite_group(
        group,
        actor=current_user,
        sent_by=service.sender_for(current_user),
        channel="web",
        settings=settings(),
    )
    db.session.commit()
    if request.headers.get("HX-Request"):
        return render("invitations/_group_button.html", group=group, result=result)
    invited = len(result.invited)
    flash(_("Invited: %(n)s.", n=invited), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("main.home"))
