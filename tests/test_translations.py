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


def test_every_translation_uses_the_glossarys_words():
    wrong = []
    for english, french, avoid, why in glossary():
        for msgid, form in _pairs():
            if not english.search(msgid):
                continue
            if french is not None and not french.search(form):
                wrong.append((msgid, form, f"should say {french.pattern}: {why}"))
            if avoid is not None and avoid.search(form):
                wrong.append((msgid, form, f"should not say {avoid.pattern}: {why}"))
    assert wrong == []


def test_french_typography():
    wrong = []
    for msgid, form in _pairs():
        # URLs, placeholders and times are not prose.
        prose = re.sub(r"https?://\S+|%\(\w+\)[sd]|\d+:\d+", "", form)
        for pattern, problem in TYPOGRAPHY:
            if pattern.search(prose):
                wrong.append((msgid, form, problem))
    assert wrong == []


def test_the_policys_french_texts_follow_the_same_typography():
    from portal.enrollment.policy_messages import MESSAGES

    wrong = []
    for code, (_english, french) in MESSAGES.items():
        prose = re.sub(r"\{\w+\}", "", french)
        for pattern, problem in TYPOGRAPHY:
            if pattern.search(prose):
                wrong.append((code, french, problem))
    assert wrong == []
