"""Who is asking: Slack user → e-mail (`users.info`, cached) → portal account.

Roles come from the portal account only; nothing Slack says about a person (admin, owner,
guest) grants anything here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from . import services
from .messages import lang_of

# users.info errors that mean "no such person", cached like an answer.
NOT_FOUND_ERRORS = frozenset({"user_not_found", "users_not_found", "account_inactive"})


@dataclass(frozen=True)
class SlackProfile:
    user_id: str
    email: str | None
    locale: str | None = None
    name: str | None = None
    deleted: bool = False
    is_bot: bool = False


class ProfileCache:
    """`users.info` answers kept for `ttl` seconds (Slack rate-limits that method)."""

    def __init__(self, ttl: float = 600.0, max_size: int = 10_000):
        self.ttl = ttl
        self.max_size = max_size
        self._items: dict[str, tuple[float, SlackProfile | None]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> tuple[bool, SlackProfile | None]:
        with self._lock:
            item = self._items.get(user_id)
            if item is None or item[0] <= time.monotonic():
                return False, None
            return True, item[1]

    def put(self, user_id: str, profile: SlackProfile | None) -> None:
        with self._lock:
            if len(self._items) >= self.max_size:
                now = time.monotonic()
                self._items = {k: v for k, v in self._items.items() if v[0] > now}
                if len(self._items) >= self.max_size:
                    self._items.pop(next(iter(self._items)))
            self._items[user_id] = (time.monotonic() + self.ttl, profile)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def slack_profile(client: WebClient, user_id: str, cache: ProfileCache) -> SlackProfile | None:
    """The Slack user's e-mail and locale, or None if Slack knows no such user."""
    found, profile = cache.get(user_id)
    if found:
        return profile
    try:
        response = client.users_info(user=user_id, include_locale=True)
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_FOUND_ERRORS:
            raise
        profile = None
    else:
        user = response.get("user") or {}
        details = user.get("profile") or {}
        email = (details.get("email") or "").strip().lower() or None
        profile = SlackProfile(
            user_id=user_id,
            email=email,
            locale=user.get("locale"),
            name=details.get("display_name") or details.get("real_name") or user.get("name"),
            deleted=bool(user.get("deleted")),
            is_bot=bool(user.get("is_bot")),
        )
    cache.put(user_id, profile)
    return profile


def portal_user_for(profile: SlackProfile | None):
    """The portal account with the Slack profile's e-mail address, if any."""
    if profile is None or profile.email is None or profile.deleted or profile.is_bot:
        return None
    return services.user_by_email(profile.email)


def reply_language(user, profile: SlackProfile | None, detected: str | None) -> str:
    """The portal user's language, else the Slack user's, else the message's, else English."""
    candidates = (
        getattr(user, "locale", None),
        profile.locale if profile is not None else None,
        detected,
    )
    for candidate in candidates:
        lang = lang_of(candidate)
        if lang is not None:
            return lang
    return "en"


@dataclass
class Requester:
    """The person behind a Slack request, with their portal account if they have one."""

    slack_user_id: str
    profile: SlackProfile | None
    user: object | None  # portal.models.User
    lang: str


def requester(
    client: WebClient, slack_user_id: str, cache: ProfileCache, *, detected: str | None = None
) -> Requester:
    profile = slack_profile(client, slack_user_id, cache)
    user = portal_user_for(profile)
    return Requester(slack_user_id, profile, user, reply_language(user, profile, detected))
