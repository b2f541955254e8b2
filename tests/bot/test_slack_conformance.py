"""The assistant against Slack's own rules: its app-manifest schema, the Block Kit models
of slack_sdk and Slack's size limits, and escaping of every text a person or a directory
wrote (a display name from Entra ID can say `<!channel>`).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
import yaml
from referencing import Registry, Resource
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import blocks
from bot import services as bot_services
from bot.services import SentInvitation
from portal import demo
from portal.extensions import db
from portal.models import Device, User, utcnow

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "tests" / "data" / "slack" / "manifest-schema"
SCHEMA_BASE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"

HOSTILE = "<!channel> Mallory & <https://evil.example|click> <@U0001>"
# Slack's limits (docs.slack.dev, Block Kit reference): per message and per view.
MESSAGE_TEXT_MAX = 40_000
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
TEXT_LIMITS = {"section": 3000, "header": 150, "context": 3000}


# -- the manifest ------------------------------------------------------------------------------


def _validator():
    registry = Registry()
    for path in (SCHEMA_DIR / "schemas").glob("manifest.schema.*.json"):
        contents = json.loads(path.read_text())
        registry = registry.with_resource(SCHEMA_BASE + path.name, Resource.from_contents(contents))
    schema = json.loads((SCHEMA_DIR / "manifest.schema.json").read_text())
    return jsonschema.Draft7Validator(schema, registry=registry)


def test_manifest_follows_slacks_manifest_schema():
    manifest = yaml.safe_load((ROOT / "bot" / "manifest.yaml").read_text())
    errors = sorted(_validator().iter_errors(manifest), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda m: m["features"]["slash_commands"][0].update(command="enroll"),
        lambda m: m["oauth_config"]["scopes"].update(bot="commands"),
        lambda m: m["display_information"].update(name="x" * 40),
        lambda m: m["settings"].update(unknown_setting=True),
    ],
    ids=["command-without-slash", "scopes-not-a-list", "name-too-long", "unknown-key"],
)
def test_the_schema_check_catches_a_broken_manifest(breakage):
    manifest = yaml.safe_load((ROOT / "bot" / "manifest.yaml").read_text())
    breakage(manifest)
    assert list(_validator().iter_errors(manifest))


def test_manifest_commands_and_events_are_the_ones_the_bot_listens_to(bot_app):
    manifest = yaml.safe_load((ROOT / "bot" / "manifest.yaml").read_text())
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == {"/enroll"}
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"app_home_opened", "app_mention", "message.im"}


# -- every message and view ----------------------------------------------------------------


@pytest.fixture
def hostile(bot_app):
    """A person whose name, device and address are what a directory could send."""
    with bot_app.app_context():
        demo.seed("testing")
        user = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
        user.display_name = HOSTILE
        db.session.add(
            Device(
                user_id=user.id,
                name=HOSTILE + " iPhone",
                platform="ios",
                os_version="17.5 <b>",
                status="enrolled",
                enrollment_type="user",
                enrollment_method="profile",
                last_checkin_at=utcnow(),
            )
        )
        db.session.commit()
    return bot_app


def _messages_and_views(app) -> list[tuple[str, object]]:
    built: list[tuple[str, object]] = []
    with app.app_context():
        user = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
        report = bot_services.status_report(user, actor=user, record=False)
        sent = SentInvitation(
            name=HOSTILE,
            email="o'neil&co@example.com",
            link="https://portal.example.com/go/abc",
            expires_at=utcnow() + timedelta(days=7),
        )
        for lang in ("en", "fr"):
            with app.test_request_context():
                built += [
                    (f"help {lang}", blocks.help_reply(lang, company=HOSTILE, helpdesk=True)),
                    (
                        f"help preface {lang}",
                        blocks.help_reply(lang, company=HOSTILE, helpdesk=False, preface="Hi"),
                    ),
                    (f"status own {lang}", _status(report, lang, own=True)),
                    (f"status other {lang}", _status(report, lang, own=False)),
                    (f"link {lang}", blocks.link_reply(sent, lang, qr_url="https://x/qr.png")),
                    (f"text {lang}", blocks.text_reply(blocks.escape(HOSTILE))),
                    (
                        f"home {lang}",
                        blocks.home_view(
                            lang,
                            name=HOSTILE,
                            company=HOSTILE,
                            report=report,
                            helpdesk=True,
                            portal_link="https://portal.example.com/enroll",
                        ),
                    ),
                    (
                        f"home notice {lang}",
                        blocks.home_view(
                            lang, name=HOSTILE, company="", report=None, notice="No account"
                        ),
                    ),
                ]
    return built


def _status(report, lang, *, own):
    return blocks.status_reply(
        report, lang, own=own, portal_link="https://portal.example.com/enroll"
    )


def _texts(node):
    """Every text string of a message or view (text objects, fallback, confirm dialogs)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def _check_blocks(name: str, items: list[dict]) -> None:
    for item in items:
        model = Block.parse(item)
        assert model is not None, (name, item)
        model.validate_json()  # slack_sdk's own length and shape rules
        limit = TEXT_LIMITS.get(item["type"])
        if limit and "text" in item:
            assert len(item["text"]["text"]) <= limit, (name, item["type"])
        for element in item.get("elements", []):
            if element.get("type") == "mrkdwn":
                assert len(element["text"]) <= limit


def test_every_message_and_view_passes_block_kit_and_slack_limits(hostile):
    built = _messages_and_views(hostile)
    assert len(built) == 16
    for name, item in built:
        if isinstance(item, blocks.Reply):
            payload = item.as_kwargs()
            assert 0 < len(payload["text"]) <= MESSAGE_TEXT_MAX, name
            assert len(payload["blocks"]) <= MESSAGE_BLOCKS_MAX, name
            _check_blocks(name, payload["blocks"])
            texts = [payload["text"], *_texts(payload["blocks"])]
        else:
            view = View(**item)
            view.validate_json()
            assert len(item["blocks"]) <= VIEW_BLOCKS_MAX, name
            _check_blocks(name, item["blocks"])
            texts = list(_texts(item["blocks"]))
        # No text lets a directory's markup through: not a mention, link or &-entity of it.
        for text in texts:
            assert "<!channel>" not in text, (name, text)
            assert "<https://evil" not in text, (name, text)
            assert "<@U0001>" not in text, (name, text)
            assert "& " not in text.replace("&amp; ", ""), (name, text)


def test_fallback_text_of_a_status_about_someone_is_escaped(hostile):
    with hostile.app_context():
        user = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
        report = bot_services.status_report(user, actor=user, record=False)
        with hostile.test_request_context():
            reply = _status(report, "en", own=False)
    assert "&lt;!channel&gt; Mallory &amp; &lt;https://evil.example|click&gt;" in reply.text
    assert "<!channel>" not in reply.text


def test_long_names_stay_within_slacks_limits(bot_app):
    with bot_app.app_context():
        demo.seed("testing")
        user = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
        user.display_name = "&" * 200
        for n in range(12):
            db.session.add(
                Device(
                    user_id=user.id,
                    name="<" * 190 + str(n),
                    platform="macos",
                    os_version="14.5",
                    status="enrolled",
                    enrollment_type="user",
                    enrollment_method="account_driven",
                )
            )
        db.session.commit()
        report = bot_services.status_report(user, actor=user, record=False)
        with bot_app.test_request_context():
            for own in (True, False):
                reply = _status(report, "fr", own=own)
                _check_blocks("long", reply.blocks)
            view = blocks.home_view("fr", name="&" * 200, company="<" * 300, report=report)
            View(**view).validate_json()
            _check_blocks("long home", view["blocks"])
