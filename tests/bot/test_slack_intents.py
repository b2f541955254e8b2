"""The intent parser: English and French requests map to the same intents (pure, no Slack)."""

import pytest

from bot.intents import Kind, Target, detect_language, find_target, parse_command, parse_message

BOB = Target(slack_user_id="U0BOB")
BOB_MAIL = Target(email="bob@example.com")

MESSAGES = [
    # text, kind, target, language
    ("what's my enrollment status?", Kind.STATUS, None, "en"),
    ("What is my status", Kind.STATUS, None, "en"),
    ("where am I with enrollment?", Kind.STATUS, None, "en"),
    ("show my devices", Kind.STATUS, None, "en"),
    ("statut de mon inscription", Kind.STATUS, None, "fr"),
    ("Où en est mon inscription ?", Kind.STATUS, None, "fr"),
    ("quel est l'état de mes appareils", Kind.STATUS, None, "fr"),
    ("send me my link", Kind.LINK, None, "en"),
    ("I need a new enrollment link please", Kind.LINK, None, "en"),
    ("can you send me the QR code", Kind.LINK, None, "en"),
    ("envoie-moi mon lien", Kind.LINK, None, "fr"),
    ("je voudrais mon lien d'inscription", Kind.LINK, None, "fr"),
    ("renvoie mon invitation", Kind.LINK, None, "fr"),
    ("resend my invitation", Kind.LINK, None, "en"),
    ("renvoie l'invitation de <@U0BOB>", Kind.RESEND, BOB, "fr"),
    ("resend bob@example.com", Kind.RESEND, BOB_MAIL, "en"),
    ("resend <mailto:bob@example.com|bob@example.com>", Kind.RESEND, BOB_MAIL, "en"),
    ("please re-send the invite for <@U0BOB|bob>", Kind.RESEND, BOB, "en"),
    ("relance <@U0BOB>", Kind.RESEND, BOB, None),
    ("send <@U0BOB> his link", Kind.RESEND, BOB, "en"),
    ("what's the status of <@U0BOB>?", Kind.STATUS, BOB, "en"),
    ("statut de bob@example.com", Kind.STATUS, BOB_MAIL, "fr"),
    ("<@U0BOB>", Kind.STATUS, BOB, None),
    ("help", Kind.HELP, None, "en"),
    ("aide", Kind.HELP, None, "fr"),
    ("bonjour", Kind.HELP, None, "fr"),
    ("hello", Kind.HELP, None, "en"),
    ("", Kind.HELP, None, None),
]


@pytest.mark.parametrize(("text", "kind", "target", "language"), MESSAGES)
def test_messages_map_to_intents(text, kind, target, language):
    intent = parse_message(text)
    assert (intent.kind, intent.target, intent.language) == (kind, target, language)
    assert intent.understood


@pytest.mark.parametrize("text", ["the weather is nice", "quelle heure est-il", "42"])
def test_what_is_not_understood_is_help_marked_as_not_understood(text):
    intent = parse_message(text)
    assert intent.kind is Kind.HELP and not intent.understood


def test_the_bots_own_mention_is_not_a_target():
    intent = parse_message("<@U0ENROLLBOT> what's my status?", bot_user_id="U0ENROLLBOT")
    assert intent.kind is Kind.STATUS and intent.target is None
    other = parse_message("<@U0ENROLLBOT> status of <@U0BOB>", bot_user_id="U0ENROLLBOT")
    assert other.target == BOB


COMMANDS = [
    # /enroll text, kind, target, language
    ("status", Kind.STATUS, None, "en"),
    ("statut", Kind.STATUS, None, "fr"),
    ("État", Kind.STATUS, None, "fr"),
    ("status me", Kind.STATUS, None, "en"),
    ("link", Kind.LINK, None, "en"),
    ("lien", Kind.LINK, None, "fr"),
    ("help", Kind.HELP, None, "en"),
    ("aide", Kind.HELP, None, "fr"),
    ("status <@U0BOB|bob>", Kind.STATUS, BOB, "en"),
    ("status <@U0BOB>", Kind.STATUS, BOB, "en"),
    ("status bob@example.com", Kind.STATUS, BOB_MAIL, "en"),
    ("STATUS <mailto:Bob@Example.com|Bob@Example.com>", Kind.STATUS, BOB_MAIL, "en"),
    ("resend <@U0BOB|bob>", Kind.RESEND, BOB, "en"),
    ("renvoyer bob@example.com", Kind.RESEND, BOB_MAIL, "fr"),
    ("resend", Kind.LINK, None, "en"),
    ("link <@U0BOB>", Kind.RESEND, BOB, "en"),
    ("status @bob", Kind.STATUS, Target(name="@bob"), "en"),
    ("status bob", Kind.STATUS, Target(name="bob"), "en"),
]


@pytest.mark.parametrize(("text", "kind", "target", "language"), COMMANDS)
def test_commands_map_to_intents(text, kind, target, language):
    intent = parse_command(text)
    assert (intent.kind, intent.target, intent.language) == (kind, target, language)


@pytest.mark.parametrize(
    ("text", "word"), [("", None), ("bogus", "bogus"), ("frobnicate x", "frobnicate")]
)
def test_unknown_or_missing_sub_commands_get_help(text, word):
    intent = parse_command(text)
    assert intent.kind is Kind.HELP and intent.unknown_word == word
    assert intent.understood is (word is None)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("what's my enrollment status?", "en"),
        ("statut de mon inscription", "fr"),
        ("état", "fr"),
        ("status", "en"),
        ("ok", None),
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_find_target_removes_every_name_and_keeps_the_first():
    target, rest = find_target("status <@U0BOB> and carol@example.com")
    assert target == BOB
    assert "U0BOB" not in rest and "carol" not in rest


def test_odd_input_never_raises():
    for text in ["<@", "<mailto:>", "@", "a@b", "\u0000", "é" * 5000, "<@U0BOB|" * 50]:
        parse_message(text)
        parse_command(text)
