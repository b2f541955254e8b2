"""The assistant's catalogue: every message in English and French, with the same fields."""

import string

import pytest

from bot.messages import MESSAGES, lang_of, t


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_both_languages_with_the_same_fields(key):
    english, french = MESSAGES[key]
    assert english.strip() and french.strip()
    assert fields(english) == fields(french)


def test_french_is_chosen_for_french_locales_only():
    assert t("button.resend", "fr") == "Renvoyer l’invitation"
    assert t("button.resend", "en") == "Resend invitation"
    assert [lang_of(x) for x in ("fr-FR", "fr_CA", "FR", "en-GB", "de-DE", None, "")] == [
        "fr",
        "fr",
        "fr",
        "en",
        None,
        None,
        None,
    ]
