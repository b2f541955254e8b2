"""The App Home tab (`app_home_opened` → `views.publish`): own status and devices."""

from __future__ import annotations

import logging

from slack_bolt import App

from .. import blocks, conversation, services
from ..messages import t
from . import noop_ack, who_is

log = logging.getLogger("bot")


def home_for(client, slack_user_id: str) -> dict:
    req = who_is(client, slack_user_id)
    problem = conversation.account_problem(req)
    name = (req.profile.name if req.profile else None) or ""
    if problem is not None:
        return blocks.home_view(
            req.lang, name=name, company="", report=None, notice=problem.reply.text
        )
    user = req.user
    report = services.status_report(user, actor=user, record=False)
    return blocks.home_view(
        req.lang,
        name=user.display_name or name,
        company=services.company_name(user),
        report=report,
        helpdesk=services.is_helpdesk(user),
        portal_link=services.enroll_url(),
    )


def publish_home(client, slack_user_id: str) -> None:
    try:
        view = home_for(client, slack_user_id)
    except Exception:
        log.exception("building the App Home failed")
        view = blocks.home_view(
            "en", name="", company="", report=None, notice=t("error.internal", "en")
        )
    client.views_publish(user_id=slack_user_id, view=view)


def run_home_opened(event: dict, client) -> None:
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    publish_home(client, event["user"])


def register(app: App) -> None:
    app.event("app_home_opened")(ack=noop_ack, lazy=[run_home_opened])
