"""Block Kit builders: what the assistant's messages and App Home look like.

Each builder takes plain records (`bot.services`) and a language, and returns a `Reply`
(fallback text + blocks) or a view. Action ids are the constants below; `listeners.actions`
handles them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import force_locale, format_datetime

from portal.enrollment import policy

from .messages import t
from .services import SentInvitation, StatusReport

RESEND_ACTION = "resend_invitation"
SEND_LINK_ACTION = "send_my_link"
OPEN_PORTAL_ACTION = "open_portal"
HANDLED_ACTION = "mark_handled"

SECTION_MAX = 2900  # Slack allows 3,000 characters in a section's text
HEADER_MAX = 150


@dataclass
class Reply:
    """A message: `text` is the notification and screen-reader fallback of `blocks`."""

    text: str
    blocks: list[dict] = field(default_factory=list)

    def as_kwargs(self) -> dict:
        return {"text": self.text, "blocks": self.blocks or None}


def _plain(text: str, limit: int = HEADER_MAX) -> dict:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def section(text: str) -> dict:
    if len(text) > SECTION_MAX:
        text = text[: SECTION_MAX - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def header(text: str) -> dict:
    return {"type": "header", "text": _plain(text)}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_MAX]}]}


def escape(text: str) -> str:
    """Slack's control characters (&, <, >) in text that came from a person or a directory.

    Slack reads them in every text it shows, the notification's fallback `text` included:
    unescaped, `<!channel>` in a display name would notify a whole channel.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def when(moment: datetime, lang: str, *, time_only: bool = False) -> str:
    """A date (or only the time) Slack shows in the reader's own time zone, with a UTC
    fallback for the clients that cannot."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    with force_locale(lang):
        fallback = format_datetime(moment, "HH:mm" if time_only else "d MMM y, HH:mm") + " UTC"
    token = "{time}" if time_only else "{date_short_pretty} {time}"
    return f"<!date^{int(moment.timestamp())}^{token}|{fallback}>"


def text_reply(text: str) -> Reply:
    return Reply(text, [section(text)])


# -- help ------------------------------------------------------------------------------------


def help_reply(lang: str, *, company: str, helpdesk: bool, preface: str | None = None) -> Reply:
    lines = [t("help.status", lang), t("help.link", lang), t("help.help", lang)]
    blocks = []
    if preface:
        blocks.append(section(preface))
    blocks.append(section(t("help.intro", lang, company=escape(company))))
    blocks.append(section("\n".join(f"• {line}" for line in lines)))
    if helpdesk:
        staff = [t("help.status_other", lang), t("help.resend", lang)]
        blocks.append(
            section(t("help.helpdesk", lang) + "\n" + "\n".join(f"• {line}" for line in staff))
        )
    text = " ".join(filter(None, [preface, t("help.intro", lang, company=escape(company))]))
    return Reply(text, blocks)


# -- status ----------------------------------------------------------------------------------


def _type_label(value: str, lang: str) -> str:
    english, french = policy.MESSAGES.get(f"type:{value}", (value, value))
    return french if lang == "fr" else english


def invitation_text(report: StatusReport, lang: str) -> str:
    state = report.invitation_state
    if state in ("valid", "expired") and report.invitation_expires_at is not None:
        value = t(f"invitation.{state}", lang, date=when(report.invitation_expires_at, lang))
    else:
        value = t(f"invitation.{state}", lang)
    if report.invitation_failed:
        value += " " + t("invitation.delivery_failed", lang)
    return value


def device_lines(report: StatusReport, lang: str) -> str:
    if not report.devices:
        return t("status.no_devices", lang)
    lines = []
    for device in report.devices:
        checkin = (
            when(device.last_checkin_at, lang)
            if device.last_checkin_at is not None
            else t("device.never", lang)
        )
        lines.append(
            "• "
            + t(
                "device.line",
                lang,
                name=escape(device.name or t("device.unnamed", lang)),
                platform=device.platform,
                version=escape(device.os_version or "?"),
                status=t(f"device.status.{device.status}", lang),
                type=_type_label(device.enrollment_type, lang),
                checkin=checkin,
            )
        )
    hidden = report.device_count - len(report.devices)
    if hidden > 0:
        lines.append(t("status.more_devices", lang, count=hidden))
    return "\n".join(lines)


def status_sections(report: StatusReport, lang: str) -> list[dict]:
    decision = report.decision
    summary = t(
        "status.enrollment",
        lang,
        summary=decision.summary(lang),
        platform=report.platform_name,
        version=escape(report.os_version),
    )
    reasons = "\n".join(f"• {escape(reason.message(lang))}" for reason in decision.reasons)
    apple_id = escape(report.masked_apple_id or "") or t("status.apple_id_none", lang)
    return [
        section(summary + ("\n" + reasons if reasons else "")),
        section(
            t("status.apple_id", lang, value=apple_id)
            + "\n"
            + t("status.invitation", lang, value=invitation_text(report, lang))
        ),
        section(t("status.devices", lang) + "\n" + device_lines(report, lang)),
    ]


def resend_button(user_id: int, name: str, lang: str, *, style: str | None = "primary") -> dict:
    """ "Resend invitation" to the person `user_id`, confirmed first (the old link stops)."""
    button = {
        "type": "button",
        "action_id": RESEND_ACTION,
        "text": _plain(t("button.resend", lang), 75),
        "value": str(user_id),
        "confirm": {
            "title": _plain(t("confirm.title", lang), 100),
            "text": {"type": "mrkdwn", "text": t("confirm.text", lang, name=escape(name))},
            "confirm": _plain(t("confirm.yes", lang), 30),
            "deny": _plain(t("confirm.no", lang), 30),
        },
    }
    if style:
        button["style"] = style
    return button


def send_link_button(lang: str) -> dict:
    return {
        "type": "button",
        "action_id": SEND_LINK_ACTION,
        "text": _plain(t("button.send_link", lang), 75),
        "value": "self",
        "style": "primary",
    }


def handled_button(notification_id: int, lang: str) -> dict:
    """ "Mark as handled" on a request in the helpdesk channel."""
    return {
        "type": "button",
        "action_id": HANDLED_ACTION,
        "text": _plain(t("helpdesk.handled", lang), 75),
        "value": str(notification_id),
        "style": "primary",
    }


def link_button(label: str, url: str, *, style: str | None = None) -> dict:
    """A button that opens `url` in the browser (Slack still sends its click: acked)."""
    button = {
        "type": "button",
        "action_id": OPEN_PORTAL_ACTION,
        "text": _plain(label, 75),
        "url": url,
    }
    if style:
        button["style"] = style
    return button


def portal_button(lang: str, url: str) -> dict:
    return link_button(t("button.open_portal", lang), url)


def actions(*buttons: dict) -> dict:
    return {"type": "actions", "elements": list(buttons)}


def status_reply(report: StatusReport, lang: str, *, own: bool, portal_link: str) -> Reply:
    """Someone's status; about another person, with the helpdesk's "Resend" button."""
    name = escape(report.name)
    title = t("status.title_own", lang) if own else t("status.title_other", lang, name=name)
    if own:
        buttons = [send_link_button(lang)]
    else:
        buttons = [resend_button(report.user_id, report.name, lang)]
    buttons.append(portal_button(lang, portal_link))
    blocks = [
        header(title),
        *status_sections(report, lang),
        actions(*buttons),
    ]
    text = t("labelled", lang, label=title, value=report.decision.summary(lang))
    return Reply(text, blocks)


# -- links -----------------------------------------------------------------------------------


def link_reply(sent: SentInvitation, lang: str, *, qr_url: str) -> Reply:
    date = when(sent.expires_at, lang)
    body = t("link.body", lang, link=escape(sent.link), date=date, email=escape(sent.email))
    blocks = [
        header(t("link.title", lang)),
        section(body),
        context(t("link.qr", lang, url=qr_url)),
    ]
    return Reply(t("labelled", lang, label=t("link.title", lang), value=escape(sent.link)), blocks)


# -- App Home --------------------------------------------------------------------------------


def home_view(
    lang: str,
    *,
    name: str,
    company: str,
    report: StatusReport | None,
    notice: str | None = None,
    helpdesk: bool = False,
    portal_link: str = "",
) -> dict:
    """The App Home tab: own status and devices, and the "Send me my link" button."""
    blocks: list[dict] = [header(t("home.greeting", lang, name=escape(name)))]
    if notice:
        blocks.append(section(notice))
    if report is not None:
        blocks.append(section(t("home.intro", lang, company=escape(company))))
        blocks.extend(status_sections(report, lang))
        buttons = [send_link_button(lang)]
        if portal_link:
            buttons.append(portal_button(lang, portal_link))
        blocks.append(actions(*buttons))
        if helpdesk:
            blocks.append(context(t("home.helpdesk", lang)))
    return {"type": "home", "blocks": blocks[:100]}
