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
