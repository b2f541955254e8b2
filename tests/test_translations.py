"""The French catalogue: complete, placeholders intact, every plural form filled.

French (CLDR) has three plural forms: one (0 and 1), many (multiples of a million) and
other; a form left empty makes gettext fall back to the English text for those numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po
from flask_babel import force_locale, ngettext

PO = Path(__file__).resolve().parent.parent / "portal/translations/fr/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalogue():
    with PO.open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


def test_every_message_is_translated_and_none_is_fuzzy():
    missing = []
    for message in catalogue():
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(forms):
            missing.append(message.id)
    assert missing == []


def test_translations_keep_their_placeholders():
    wrong = []
    for message in catalogue():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for form in forms:
            if not set(PLACEHOLDER.findall(form)) <= wanted | set(PLACEHOLDER.findall(ids[0])):
                wrong.append((message.id, form))
    assert wrong == []


def test_plurals_read_in_french_for_every_number(app):
    with app.test_request_context(), force_locale("fr"):
        assert ngettext("%(num)d free", "%(num)d free", 1) == "1 libre"
        assert ngettext("%(num)d free", "%(num)d free", 5) == "5 libres"
        assert ngettext("%(num)d entry", "%(num)d entries", 12) == "12 entrées"


GLOSSARY = PO.parent.parent / "glossary.tsv"
# French typography: a non-breaking space (U+00A0 or the narrow U+202F) before : ; ? ! and
# inside « », and the typographic apostrophe.
NBSP = "\u00a0\u202f"
TYPOGRAPHY = [
    (re.compile(r"'"), "straight apostrophe (use ’)"),
    (re.compile(rf"[^{NBSP}]([:;?!»])(?=\s|$|[).,])"), "no non-breaking space before : ; ? ! »"),
    (re.compile(rf"«[^{NBSP}]"), "no non-breaking space after «"),
]


def glossary():
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines()[1:]:
        if not line.strip() or line.startswith(("#", "english\t")):
            continue
        english, french, avoid, why = (line.split("\t") + ["", "", ""])[:4]
        rows.append(
            (
                re.compile(english),
                re.compile(french) if french else None,
                re.compile(avoid) if avoid else None,
                why,
            )
        )
    return rows


def _pairs():
    for message in catalogue():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            yield ids[0], form


def test_the_glossary_is_read():
    rows = glossary()
    assert len(rows) >= 10
    assert any(english.pattern.startswith("^Expired") for english, *_ in rows)


def glossary_problems(pairs) -> list[tuple[str, str, str]]:
    """(English, French) pairs whose French does not use the glossary's word for a term."""
    pairs = list(pairs)
    wrong = []
    for english, french, avoid, why in glossary():
        for msgid, form in pairs:
            if not english.search(msgid):
                continue
            if french is not None and not french.search(form):
                wrong.append((msgid, form, f"should say {french.pattern}: {why}"))
            if avoid is not None and avoid.search(form):
                wrong.append((msgid, form, f"should not say {avoid.pattern}: {why}"))
    return wrong


def test_every_translation_uses_the_glossarys_words():
    assert glossary_problems(_pairs()) == []


# URLs, placeholders (gettext's and str.format's), times and Slack's emoji codes are not prose.
NOT_PROSE = re.compile(r"https?://\S+|%\(\w+\)[sd]|\{\w+\}|\d+:\d+|:[a-z_]+:")


def typography_problems(pairs) -> list[tuple[str, str, str]]:
    wrong = []
    for key, form in pairs:
        prose = NOT_PROSE.sub("", form)
        for pattern, problem in TYPOGRAPHY:
            if pattern.search(prose):
                wrong.append((key, form, problem))
    return wrong


def test_french_typography():
    assert typography_problems(_pairs()) == []


def test_the_policys_french_texts_follow_the_same_typography():
    from portal.enrollment.policy_messages import MESSAGES

    assert typography_problems((code, french) for code, (_en, french) in MESSAGES.items()) == []


def test_the_slack_assistants_french_follows_the_typography_and_the_glossary():
    from bot.messages import MESSAGES

    assert typography_problems((key, french) for key, (_en, french) in MESSAGES.items()) == []
    assert glossary_problems(MESSAGES.values()) == []
