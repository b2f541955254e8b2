"""What a Slack message or an `/enroll` sub-command asks for: a small keyword parser.

Pure: text in, `Intent` out, no Slack and no database. English and French map to the same
intents; the language the text seems to be in is reported too, as the last resort for
choosing the reply's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    STATUS = "status"  # enrollment status (own, or someone's for the helpdesk)
    LINK = "link"  # a new link for oneself
    RESEND = "resend"  # a new invitation for someone else (helpdesk)
    HELP = "help"


@dataclass(frozen=True)
class Target:
    """The person a request is about, as written: exactly one field is set."""

    slack_user_id: str | None = None
    email: str | None = None
    # "@bob" or "bob" typed without Slack's link: cannot be resolved reliably.
    name: str | None = None

    def __str__(self) -> str:
        if self.slack_user_id:
            return f"<@{self.slack_user_id}>"
        return self.email or self.name or ""


@dataclass(frozen=True)
class Intent:
    kind: Kind
    target: Target | None = None
    # "en" or "fr" when the words tell, else None.
    language: str | None = None
    # False when nothing was recognised (the reply is help, with an apology).
    understood: bool = True
    # An unknown `/enroll` sub-command, echoed back in the help.
    unknown_word: str | None = None


# <@U123ABC> or <@U123ABC|name> (mentions in messages; commands with escaping on).
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# <mailto:bob@example.com|bob@example.com> (Slack links e-mail addresses it sees).
MAILTO = re.compile(r"<mailto:([^|>\s]+)(?:\|[^>]*)?>", re.IGNORECASE)
EMAIL = re.compile(r"(?<![\w.+-])([\w.+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
BARE_NAME = re.compile(r"(?<![\w<])@([\w.-]+)")

COMMANDS: dict[str, tuple[Kind, str | None]] = {
    "status": (Kind.STATUS, "en"),
    "state": (Kind.STATUS, "en"),
    "statut": (Kind.STATUS, "fr"),
    "etat": (Kind.STATUS, "fr"),
    "link": (Kind.LINK, "en"),
    "lien": (Kind.LINK, "fr"),
    "resend": (Kind.RESEND, "en"),
    "renvoyer": (Kind.RESEND, "fr"),
    "renvoie": (Kind.RESEND, "fr"),
    "help": (Kind.HELP, "en"),
    "aide": (Kind.HELP, "fr"),
    "?": (Kind.HELP, None),
}

SELF_WORDS = frozenset({"me", "mine", "my", "myself", "moi", "mon", "le mien", "la mienne"})

# Patterns run on lower-case text without accents and without the targets.
RESEND_WORDS = re.compile(
    r"\b(re-?send|send (?:\w+ )?again|re-?invite|renvoie[rsz]?|renvoyer|renvoi|relance[rsz]?)\b"
)
SEND_WORDS = re.compile(
    r"\b(send|get|give|need|want|email|mail|envoie[rsz]?|envoyer|donne[rsz]?|obtenir|"
    r"voudrais|veux|besoin|recevoir)\b"
)
LINK_WORDS = re.compile(r"\b(link|links|url|qr|invitation|invite|lien|liens)\b")
STATUS_WORDS = re.compile(
    r"\b(status|state|progress|where (?:am|are|is|do)|enrolled|enrolment|enrollment|"
    r"statut|etat|ou en|inscrit|inscrite|inscription|avancement|devices?|appareils?)\b"
)
HELP_WORDS = re.compile(
    r"\b(help|aide|what can you do|que sais[- ]tu faire|commands?|commandes?|"
    r"hi|hello|hey|bonjour|salut|coucou)\b"
)

FRENCH = frozenset(
    "mon ma mes de du des le la les l d je j tu moi est quel quelle quels statut etat "
    "inscription lien renvoie renvoyer envoie envoyer aide bonjour salut merci ou suis "
    "voudrais veux svp stp plait appareil appareils coucou avec pour en".split()
)
ENGLISH = frozenset(
    "my the what whats is status link send me resend help hello hi hey please of enrollment "
    "enrolment where am i devices device get show again for can you your s".split()
)


def _fold(text: str) -> str:
    """Lower case without accents: "État" → "etat"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def detect_language(text: str) -> str | None:
    """ "fr" or "en" by counting telling words (accents count for French); None if even."""
    accents = sum(1 for c in text.lower() if c in "éèêàâçùûôîïœ")
    words = re.findall(r"[a-z]+", _fold(text).replace("’", "'"))
    french = accents + sum(1 for w in words if w in FRENCH)
    english = sum(1 for w in words if w in ENGLISH)
    if french > english:
        return "fr"
    if english > french:
        return "en"
    return None


def find_target(text: str) -> tuple[Target | None, str]:
    """The first person named in `text`, and the text with every such name removed."""
    target: Target | None = None
    for pattern, make in (
        (MENTION, lambda m: Target(slack_user_id=m.group(1))),
        (MAILTO, lambda m: Target(email=m.group(1).lower())),
        (EMAIL, lambda m: Target(email=m.group(1).lower())),
        (BARE_NAME, lambda m: Target(name="@" + m.group(1))),
    ):
        match = pattern.search(text)
        if match and target is None:
            target = make(match)
        text = pattern.sub(" ", text)
    return target, text


def _own_or_other(kind: Kind, target: Target | None) -> Kind:
    # "resend my invitation" is a new link for oneself; "send bob his link" a resend for bob.
    if kind is Kind.RESEND and target is None:
        return Kind.LINK
    if kind is Kind.LINK and target is not None:
        return Kind.RESEND
    return kind


def parse_command(text: str) -> Intent:
    """`/enroll <sub-command> [@someone|e-mail]`; unknown or missing sub-commands get help."""
    text = (text or "").strip()
    word, _, rest = text.partition(" ")
    key = _fold(word)
    if key not in COMMANDS:
        return Intent(
            Kind.HELP,
            language=detect_language(text),
            understood=not word,
            unknown_word=word[:40] or None,
        )
    kind, language = COMMANDS[key]
    target, leftover = find_target(rest)
    leftover = leftover.strip()
    if kind is Kind.HELP:
        return Intent(kind, language=language)
    if target is None and leftover and _fold(leftover) not in SELF_WORDS:
        # Something that is neither a mention nor an e-mail address.
        target = Target(name=leftover.split()[0][:80])
    return Intent(_own_or_other(kind, target), target, language)


def parse_message(text: str, *, bot_user_id: str | None = None) -> Intent:
    """A direct message or a mention, in English or French, mapped to an intent."""
    text = text or ""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    language = detect_language(text)
    target, rest = find_target(text)
    words = _fold(rest).replace("’", "'")
    if RESEND_WORDS.search(words):
        kind = Kind.RESEND
    elif STATUS_WORDS.search(words) and not SEND_WORDS.search(words):
        kind = Kind.STATUS
    elif LINK_WORDS.search(words):
        kind = Kind.LINK
    elif STATUS_WORDS.search(words):
        kind = Kind.STATUS
    elif target is not None:
        # Just a name: what the helpdesk most often wants is that person's status.
        kind = Kind.STATUS
    elif HELP_WORDS.search(words) or not words.strip():
        return Intent(Kind.HELP, language=language)
    else:
        return Intent(Kind.HELP, language=language, understood=False)
    return Intent(_own_or_other(kind, target), target, language)
